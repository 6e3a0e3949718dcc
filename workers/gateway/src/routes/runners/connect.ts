/**
 * `GET /v1/runners/connect`: a runner's WebSocket. The runner token (not an API key) is checked here, on
 * every connect and without a cache, so a revoked token is refused at once; the socket is then handed to
 * the hub of the token's tenant and runner name, with that identity in headers the client cannot set.
 */
import { createRoute } from "@hono/zod-openapi";
import { and, eq, isNull } from "drizzle-orm";
import { sha256Hex } from "../../../../../lib/crypto.js";
import { openDb, schema } from "../../../../../lib/db/index.js";
import { runnerHubName, stubFor } from "../../../../../lib/do-names.js";
import { ApiError, forbidden, unauthorized } from "../../../../../lib/errors.js";
import { RUNNER_IDENTITY_HEADERS } from "../../../../../lib/protocol/runner-hub.js";
import { RUNNER_CONNECT_PATH } from "../../../../../lib/protocol/runner.js";
import { router } from "../../validation.js";
import { errorBody } from "../openapi.js";

const route = createRoute({
  method: "get",
  path: RUNNER_CONNECT_PATH,
  summary: "A runner's WebSocket (the runner package connects here, outbound from the customer's server)",
  security: [{ runner: [] }],
  responses: {
    101: { description: "Switching protocols; the runner then speaks the runner protocol" },
    401: errorBody("Missing, incorrect or revoked runner token"),
    403: errorBody("The tenant is suspended"),
    426: errorBody("Not a WebSocket upgrade"),
  },
});

export const runnerConnect = router().openapi(route, async function runnerConnect(c) {
  const match = /^Bearer\s+(\S+)$/i.exec(c.req.header("authorization") ?? "");
  if (!match) throw unauthorized("Missing runner token. Send 'Authorization: Bearer <runner token>'.");
  const token = await findToken(c.env.DB, await sha256Hex(match[1]!));
  if (!token) throw new ApiError(401, "authentication_error", "Incorrect or revoked runner token.", "invalid_runner_token");
  if (token.tenantStatus !== "active") throw forbidden("This tenant is suspended.", "tenant_suspended");
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
    throw new ApiError(426, "invalid_request_error", "This endpoint only accepts a WebSocket upgrade.", "upgrade_required");
  }
  const headers = new Headers(c.req.raw.headers);
  headers.set(RUNNER_IDENTITY_HEADERS.tenant, token.tenantId);
  headers.set(RUNNER_IDENTITY_HEADERS.runner, token.runnerName);
  headers.set(RUNNER_IDENTITY_HEADERS.token, token.id);
  headers.set("x-request-id", c.get("requestId"));
  c.set("log", c.get("log").child({ tenantId: token.tenantId }));
  const res = await stubFor(c.env.RUNNER_HUBS, runnerHubName(token.tenantId, token.runnerName)).fetch(new Request(c.req.url, { headers }));
  // A fresh Response so the request-context middleware can still add its headers.
  return new Response(res.body, { status: res.status, headers: res.headers, webSocket: res.webSocket }) as never;
});

async function findToken(d1: D1Database, hash: string) {
  const t = schema.runnerTokens;
  const rows = await openDb(d1)
    .select({ id: t.id, tenantId: t.tenantId, runnerName: t.runnerName, tenantStatus: schema.tenants.status })
    .from(t)
    .innerJoin(schema.tenants, eq(schema.tenants.id, t.tenantId))
    .where(and(eq(t.hash, hash), isNull(t.revokedAt)))
    .limit(1);
  return rows[0];
}
