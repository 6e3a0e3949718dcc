import { eq } from "drizzle-orm";
import { newId } from "../../../../../lib/crypto.js";
import { openDb, schema, type Db } from "../../../../../lib/db/index.js";
import { listOf, pageWithin } from "../../../../../lib/db/pages.js";
import { usageReport } from "../../../../../lib/db/usage-report.js";
import { notFound } from "../../../../../lib/errors.js";
import { UsageQuerySchema, UsageReportSchema } from "../../../../../lib/protocol/usage.js";
import type { Tenant } from "../../../../../d1-migrations/schema/index.js";
import { forgetTenant } from "../../keys.js";
import { router } from "../../validation.js";
import { auditRow } from "./audit.js";
import { closeSessionSockets } from "./session-sockets.js";
import { AdminPageQuerySchema, IdParam, TenantCreateSchema, TenantPatchSchema, TenantSchema } from "./schemas.js";
import { adminRoute, json, PageSchema } from "../openapi.js";
import { USAGE_DESCRIPTION } from "../usage.js";

export const tenantView = (t: Tenant) => ({
  id: t.id,
  object: "tenant" as const,
  name: t.name,
  status: t.status,
  rpm_limit: t.rpmLimit,
  concurrency_limit: t.concurrencyLimit,
  daily_token_budget: t.dailyTokenBudget,
  created_at: t.createdAt,
});

export async function getTenant(db: Db, id: string): Promise<Tenant> {
  const [t] = await db.select().from(schema.tenants).where(eq(schema.tenants.id, id)).limit(1);
  if (!t) throw notFound(`No tenant '${id}'.`, "tenant_not_found");
  return t;
}

const create = adminRoute("post", "/admin/tenants", "Create a tenant", {
  request: { body: { required: true, ...json(TenantCreateSchema) } },
  responses: { 201: { description: "The tenant", ...json(TenantSchema) } },
});
const list = adminRoute("get", "/admin/tenants", "List tenants, a page at a time", {
  request: { query: AdminPageQuerySchema },
  responses: { 200: { description: "A page of tenants, newest first; pass the last id as `after` for the next", ...json(PageSchema(TenantSchema)) } },
});
const get = adminRoute("get", "/admin/tenants/{id}", "Get a tenant", {
  request: { params: IdParam },
  responses: { 200: { description: "The tenant", ...json(TenantSchema) } },
});
const patch = adminRoute("patch", "/admin/tenants/{id}", "Change a tenant's name, status or limits", {
  request: { params: IdParam, body: { required: true, ...json(TenantPatchSchema) } },
  responses: { 200: { description: "The tenant", ...json(TenantSchema) } },
});

const usage = adminRoute("get", "/admin/tenants/{id}/usage", "A tenant's token usage per day and model, with its daily budget", {
  request: { params: IdParam, query: UsageQuerySchema },
  responses: { 200: { description: USAGE_DESCRIPTION, ...json(UsageReportSchema) } },
});

export const tenants = router()
  .openapi(create, async (c) => {
    const b = c.req.valid("json");
    const db = openDb(c.env.DB);
    const id = newId("ten");
    const row = { id, name: b.name, rpmLimit: b.rpm_limit ?? null, concurrencyLimit: b.concurrency_limit ?? null, dailyTokenBudget: b.daily_token_budget ?? null };
    await db.batch([db.insert(schema.tenants).values(row), auditRow(db, c, id, "tenant.create", id, b)]);
    return c.json(tenantView(await getTenant(db, id)), 201);
  })
  .openapi(list, async (c) => {
    const page = await pageWithin(c.env.DB, schema.tenants, undefined, { ...c.req.valid("query"), noun: "tenant" });
    return c.json(listOf(page.rows.map(tenantView), page.hasMore), 200);
  })
  .openapi(get, async (c) => c.json(tenantView(await getTenant(openDb(c.env.DB), c.req.valid("param").id)), 200))
  .openapi(patch, async (c) => {
    const { id } = c.req.valid("param");
    const b = c.req.valid("json");
    const db = openDb(c.env.DB);
    await getTenant(db, id);
    const set = {
      ...(b.name !== undefined && { name: b.name }),
      ...(b.status !== undefined && { status: b.status }),
      ...(b.rpm_limit !== undefined && { rpmLimit: b.rpm_limit }),
      ...(b.concurrency_limit !== undefined && { concurrencyLimit: b.concurrency_limit }),
      ...(b.daily_token_budget !== undefined && { dailyTokenBudget: b.daily_token_budget }),
    };
    if (Object.keys(set).length) {
      await db.batch([db.update(schema.tenants).set(set).where(eq(schema.tenants.id, id)), auditRow(db, c, id, "tenant.update", id, b)]);
      // Its keys' cached status and limits are stale now; other isolates drop theirs within CIO_KEY_CACHE_TTL_S.
      forgetTenant(id);
    }
    // A suspended tenant's session sockets are closed now, not at their next key check.
    if (b.status === "suspended") closeSessionSockets(c, id, { reason: "tenant_suspended" });
    return c.json(tenantView(await getTenant(db, id)), 200);
  })
  .openapi(usage, async (c) => {
    const tenant = await getTenant(openDb(c.env.DB), c.req.valid("param").id);
    return c.json(await usageReport(c.env.DB, tenant.id, tenant.dailyTokenBudget, c.req.valid("query")), 200);
  });
