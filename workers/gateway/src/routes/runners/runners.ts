/**
 * The runner API for API keys with the `runners` scope: a tenant's runners and their status, ad-hoc or
 * named queries through a runner pool (whole JSON, or NDJSON as rows arrive), cancel, and stored results.
 */
import { and, eq, isNull } from "drizzle-orm";
import { z } from "zod";
import { openDb, schema } from "../../../../../lib/db/index.js";
import { runnerHubName, stubFor } from "../../../../../lib/do-names.js";
import { notFound } from "../../../../../lib/errors.js";
import { NDJSON, queryResultKey, type HubQueryResult, type RunnerStatus } from "../../../../../lib/protocol/runner-hub.js";
import type { GatewayEnv } from "../../env.js";
import { requireScope } from "../../middleware/auth.js";
import { router } from "../../validation.js";
import { hubErrorResponses, hubErrorToApi } from "./hub-errors.js";
import { QueryBodySchema, QueryParam, QueryResultSchema, ResultParam, RunnerParam, RunnerSchema } from "./schemas.js";
import { errorBody, json, keyRoute } from "../openapi.js";

const middleware = requireScope("runners");
const unknownRunner = errorBody("runner_not_found: the tenant holds no live token for that runner name");
const hub = (env: GatewayEnv, tenantId: string, name: string) => stubFor(env.RUNNER_HUBS, runnerHubName(tenantId, name));

/** Runner names the tenant holds live tokens for: a runner exists once a token was issued for it. */
async function runnerNames(d1: D1Database, tenantId: string, name?: string): Promise<string[]> {
  const t = schema.runnerTokens;
  const where = and(eq(t.tenantId, tenantId), isNull(t.revokedAt), name === undefined ? undefined : eq(t.runnerName, name));
  const rows = await openDb(d1).selectDistinct({ name: t.runnerName }).from(t).where(where).orderBy(t.runnerName);
  return rows.map((r) => r.name);
}

/**
 * 404 for a name the tenant holds no live token for: the hub of a mistyped name would answer runner_offline
 * (503), which clients retry as if the runner were only away.
 */
async function knownRunner(d1: D1Database, tenantId: string, name: string) {
  if (!(await runnerNames(d1, tenantId, name)).length) throw notFound(`No runner named '${name}'.`, "runner_not_found");
}

const runnerView = (s: RunnerStatus) => ({
  object: "runner" as const,
  name: s.name,
  status: s.status,
  version: s.version,
  db_kind: s.dbKind,
  last_seen: s.lastSeen,
  connections: s.connections.map((c) => ({
    connection_id: c.connectionId, version: c.version, db_kind: c.dbKind, connected_at: c.connectedAt, last_seen: c.lastSeen, active_queries: c.active,
  })),
  named_only: s.namedOnly,
  max_rows: s.maxRows,
  named_queries: s.namedQueries,
  tables: s.schema.tables,
});

export const runners = router()
  .openapi(
    keyRoute("get", "/v1/runners", "List the tenant's runners and their status", {
      middleware,
      responses: { 200: { description: "Runners", ...json(z.object({ object: z.literal("list"), data: z.array(RunnerSchema) })) } },
    }),
    async (c) => {
      const { tenantId } = c.get("auth");
      const names = await runnerNames(c.env.DB, tenantId);
      const data = await Promise.all(names.map(async (n) => runnerView(await hub(c.env, tenantId, n).status(n))));
      return c.json({ object: "list" as const, data }, 200);
    },
  )
  .openapi(
    keyRoute("get", "/v1/runners/{name}", "One runner pool: status, connections and the schema it may show", {
      middleware,
      request: { params: RunnerParam },
      responses: { 200: { description: "The runner", ...json(RunnerSchema) }, 404: unknownRunner },
    }),
    async (c) => {
      const { tenantId } = c.get("auth");
      const { name } = c.req.valid("param");
      await knownRunner(c.env.DB, tenantId, name);
      return c.json(runnerView(await hub(c.env, tenantId, name).status(name)), 200);
    },
  )
  .openapi(
    keyRoute("post", "/v1/runners/{name}/query", "Run a read-only query (ad-hoc SQL or a named query) on the runner pool", {
      middleware,
      request: { params: RunnerParam, body: { required: true, ...json(QueryBodySchema) } },
      responses: {
        200: { description: "The result; NDJSON when `stream` is true", content: { "application/json": { schema: QueryResultSchema }, [NDJSON]: { schema: { type: "string" } } } },
        ...hubErrorResponses({ runner_not_found: 404 }),
      },
    }),
    async (c) => {
      const { tenantId } = c.get("auth");
      const { name } = c.req.valid("param");
      const b = c.req.valid("json");
      await knownRunner(c.env.DB, tenantId, name);
      const id = b.id ?? crypto.randomUUID();
      const req = { id, requestId: c.get("requestId"), sql: b.sql, named: b.named, params: b.params, maxRows: b.max_rows, maxBytes: b.max_bytes, timeoutMs: b.timeout_ms };
      const stub = hub(c.env, tenantId, name);
      if (b.stream) {
        const answer = await stub.queryStream(req, c.get("settings").CIO_RUNNER_STREAM_MAX_ROWS);
        if (!answer.ok) throw hubErrorToApi(answer.error);
        return new Response(answer.body, { status: 200, headers: { "content-type": NDJSON, "x-cio-query-id": id } }) as never;
      }
      const r = (await stub.query(req)) as HubQueryResult;
      if (!r.ok) throw hubErrorToApi(r.error);
      return c.json(
        { object: "query_result" as const, id, columns: r.columns, rows: r.rows, row_count: r.rowCount, truncated: r.truncated, truncated_by: r.truncatedBy ?? null, elapsed_ms: r.elapsedMs },
        200,
      );
    },
  )
  .openapi(
    keyRoute("post", "/v1/runners/{name}/queries/{id}/cancel", "Cancel a running query (the runner cancels it on the database)", {
      middleware,
      request: { params: QueryParam },
      responses: {
        200: { description: "Cancelled", ...json(z.object({ object: z.literal("query_cancel"), id: z.string(), cancelled: z.literal(true) })) },
        404: errorBody("runner_not_found, or query_not_found: no query of that id is running on the runner"),
      },
    }),
    async (c) => {
      const { tenantId } = c.get("auth");
      const { name, id } = c.req.valid("param");
      await knownRunner(c.env.DB, tenantId, name);
      if (!(await hub(c.env, tenantId, name).cancel(id))) throw notFound(`No query '${id}' is running on runner '${name}'.`, "query_not_found");
      return c.json({ object: "query_cancel" as const, id, cancelled: true as const }, 200);
    },
  )
  .openapi(
    keyRoute("get", "/v1/query-results/{id}", "A stored query result (NDJSON: columns, rows, done)", {
      middleware,
      request: { params: ResultParam },
      responses: { 200: { description: "The result", content: { [NDJSON]: { schema: { type: "string" } } } }, 404: errorBody("query_result_not_found") },
    }),
    async (c) => {
      const { tenantId } = c.get("auth");
      const { id } = c.req.valid("param");
      const obj = await c.env.FILES.get(queryResultKey(tenantId, id));
      if (!obj) throw notFound(`No stored query result '${id}'.`, "query_result_not_found");
      return new Response(obj.body, { status: 200, headers: { "content-type": NDJSON, "content-length": String(obj.size) } }) as never;
    },
  );
