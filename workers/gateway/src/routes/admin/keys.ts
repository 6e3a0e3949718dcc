import { and, eq, isNull } from "drizzle-orm";
import { newId, newSecret, sha256Hex } from "../../../../../lib/crypto.js";
import { openDb, schema } from "../../../../../lib/db/index.js";
import { listOf, pageOf } from "../../../../../lib/db/pages.js";
import { runnerHubName, stubFor } from "../../../../../lib/do-names.js";
import { notFound } from "../../../../../lib/errors.js";
import type { ApiKey, RunnerToken } from "../../../../../d1-migrations/schema/index.js";
import { forgetKey } from "../../keys.js";
import { router } from "../../validation.js";
import { auditRow } from "./audit.js";
import { closeSessionSockets } from "./session-sockets.js";
import { getTenant } from "./tenants.js";
import { AdminPageQuerySchema, ChildParam, IdParam, KeyCreateSchema, KeySchema, RunnerTokenCreateSchema, RunnerTokenSchema } from "./schemas.js";
import { adminRoute, json, PageSchema } from "../openapi.js";

/** A new secret: shown once, stored only as its SHA-256, recognisable by its first characters. */
async function issue(prefix: string) {
  const secret = newSecret(prefix);
  return { secret, hash: await sha256Hex(secret), prefix: secret.slice(0, prefix.length + 4) };
}

const keyView = (k: ApiKey, key?: string) => ({
  id: k.id,
  object: "api_key" as const,
  tenant_id: k.tenantId,
  name: k.name,
  prefix: k.prefix,
  scopes: k.scopes,
  rpm_limit: k.rpmLimit,
  concurrency_limit: k.concurrencyLimit,
  created_at: k.createdAt,
  revoked_at: k.revokedAt,
  ...(key && { key }),
});

const tokenView = (t: RunnerToken, token?: string) => ({
  id: t.id,
  object: "runner_token" as const,
  tenant_id: t.tenantId,
  runner_name: t.runnerName,
  prefix: t.prefix,
  created_at: t.createdAt,
  revoked_at: t.revokedAt,
  ...(token && { token }),
});


export const credentials = router()
  .openapi(
    adminRoute("post", "/admin/tenants/{id}/keys", "Create an API key (the key is shown only in this answer)", {
      request: { params: IdParam, body: { required: true, ...json(KeyCreateSchema) } },
      responses: { 201: { description: "The key", ...json(KeySchema) } },
    }),
    async (c) => {
      const { id: tenantId } = c.req.valid("param");
      const b = c.req.valid("json");
      const db = openDb(c.env.DB);
      await getTenant(db, tenantId);
      const s = await issue("sk-cio-");
      const row = { id: newId("key"), tenantId, name: b.name, prefix: s.prefix, hash: s.hash, scopes: b.scopes, rpmLimit: b.rpm_limit ?? null, concurrencyLimit: b.concurrency_limit ?? null };
      const [created] = await db.batch([db.insert(schema.apiKeys).values(row).returning(), auditRow(db, c, tenantId, "api_key.create", row.id, b)]);
      return c.json(keyView(created[0]!, s.secret), 201);
    },
  )
  .openapi(
    adminRoute("get", "/admin/tenants/{id}/keys", "List a tenant's API keys, a page at a time", {
      request: { params: IdParam, query: AdminPageQuerySchema },
      responses: { 200: { description: "A page of keys (never the secrets), newest first; pass the last id as `after` for the next", ...json(PageSchema(KeySchema)) } },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      await getTenant(openDb(c.env.DB), id);
      const page = await pageOf(c.env.DB, schema.apiKeys, { tenantId: id, ...c.req.valid("query"), noun: "API key" });
      return c.json(listOf(page.rows.map((k) => keyView(k)), page.hasMore), 200);
    },
  )
  .openapi(
    adminRoute("delete", "/admin/tenants/{id}/keys/{childId}", "Revoke an API key", {
      request: { params: ChildParam },
      responses: { 200: { description: "The revoked key", ...json(KeySchema) } },
    }),
    async (c) => {
      const { id: tenantId, childId } = c.req.valid("param");
      const db = openDb(c.env.DB);
      const k = schema.apiKeys;
      const mine = and(eq(k.id, childId), eq(k.tenantId, tenantId));
      const [found] = await db.select().from(k).where(mine);
      if (!found) throw notFound(`No API key '${childId}' for tenant '${tenantId}'.`, "api_key_not_found");
      if (found.revokedAt === null) {
        found.revokedAt = Date.now();
        await db.batch([db.update(k).set({ revokedAt: found.revokedAt }).where(and(mine, isNull(k.revokedAt))), auditRow(db, c, tenantId, "api_key.revoke", childId)]);
      }
      forgetKey(found.hash);
      // Session sockets opened with this key are cut off now, not at their next key check (also on a retry).
      closeSessionSockets(c, tenantId, { reason: "api_key_revoked", keyId: childId });
      return c.json(keyView(found), 200);
    },
  )
  .openapi(
    adminRoute("post", "/admin/tenants/{id}/runner-tokens", "Create a runner token bound to one runner name", {
      request: { params: IdParam, body: { required: true, ...json(RunnerTokenCreateSchema) } },
      responses: { 201: { description: "The token", ...json(RunnerTokenSchema) } },
    }),
    async (c) => {
      const { id: tenantId } = c.req.valid("param");
      const { runner_name } = c.req.valid("json");
      const db = openDb(c.env.DB);
      await getTenant(db, tenantId);
      const s = await issue("rt-cio-");
      const row = { id: newId("rtk"), tenantId, runnerName: runner_name, prefix: s.prefix, hash: s.hash };
      const [created] = await db.batch([db.insert(schema.runnerTokens).values(row).returning(), auditRow(db, c, tenantId, "runner_token.create", row.id, { runner_name })]);
      return c.json(tokenView(created[0]!, s.secret), 201);
    },
  )
  .openapi(
    adminRoute("get", "/admin/tenants/{id}/runner-tokens", "List a tenant's runner tokens, a page at a time", {
      request: { params: IdParam, query: AdminPageQuerySchema },
      responses: { 200: { description: "A page of tokens (never the secrets), newest first; pass the last id as `after` for the next", ...json(PageSchema(RunnerTokenSchema)) } },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      await getTenant(openDb(c.env.DB), id);
      const page = await pageOf(c.env.DB, schema.runnerTokens, { tenantId: id, ...c.req.valid("query"), noun: "runner token" });
      return c.json(listOf(page.rows.map((t) => tokenView(t)), page.hasMore), 200);
    },
  )
  .openapi(
    adminRoute("delete", "/admin/tenants/{id}/runner-tokens/{childId}", "Revoke a runner token", {
      request: { params: ChildParam },
      responses: { 200: { description: "The revoked token", ...json(RunnerTokenSchema) } },
    }),
    async (c) => {
      const { id: tenantId, childId } = c.req.valid("param");
      const db = openDb(c.env.DB);
      const t = schema.runnerTokens;
      const mine = and(eq(t.id, childId), eq(t.tenantId, tenantId));
      const [found] = await db.select().from(t).where(mine);
      if (!found) throw notFound(`No runner token '${childId}' for tenant '${tenantId}'.`, "runner_token_not_found");
      if (found.revokedAt === null) {
        found.revokedAt = Date.now();
        await db.batch([db.update(t).set({ revokedAt: found.revokedAt }).where(and(mine, isNull(t.revokedAt))), auditRow(db, c, tenantId, "runner_token.revoke", childId)]);
      }
      // Runners already connected with this token are cut off now, not at their next reconnect. The revoke is
      // committed either way: a hub that cannot be reached is logged, not a failed call, and its heartbeat
      // sweep re-reads every token from D1 (durable-objects/runner-hub/token-check.ts) and drops this one.
      await stubFor(c.env.RUNNER_HUBS, runnerHubName(tenantId, found.runnerName))
        .disconnectToken(childId)
        .then(
          () => undefined,
          (err: unknown) => c.get("log").error("runner token revoked but its runners not cut off; the hub's sweep will", { err, tenantId, tokenId: childId }),
        );
      return c.json(tokenView(found), 200);
    },
  );
