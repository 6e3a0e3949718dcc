/** GET /admin/audit: the audit log (lib/db/audit.ts), newest first, by tenant and action, a page at a time. */
import { z } from "@hono/zod-openapi";
import { and, desc, eq, lt, sql } from "drizzle-orm";
import { openDb, schema } from "../../../../../lib/db/index.js";
import type { AuditEntry } from "../../../../../d1-migrations/schema/usage.js";
import { router } from "../../validation.js";
import { adminRoute, json } from "../openapi.js";
import { AuditEntrySchema, AuditQuerySchema } from "./schemas.js";

const a = schema.auditLog;

const route = adminRoute("get", "/admin/audit", "The audit log, newest first: every admin change (tenants, keys, runner tokens, tools), and each tenant's deletions (files, tasks, sessions) and council decisions with the key that made them", {
  request: { query: AuditQuerySchema },
  responses: {
    200: { description: "A page of entries; pass the last id as `after` for the next", ...json(z.object({ object: z.literal("list"), data: z.array(AuditEntrySchema), has_more: z.boolean() })) },
  },
});

const view = (e: AuditEntry) => ({
  id: e.id,
  object: "audit_entry" as const,
  tenant_id: e.tenantId,
  actor: e.actor,
  action: e.action,
  target: e.target,
  detail: e.detail,
  request_id: e.requestId,
  created_at: e.createdAt,
});

export const auditLog = router().openapi(route, async (c) => {
  const q = c.req.valid("query");
  // A prefix compared as text, not a LIKE pattern: `_` (runner_token.) would match any character there.
  const action = q.action?.endsWith(".") ? sql`substr(${a.action}, 1, ${q.action.length}) = ${q.action}` : q.action ? eq(a.action, q.action) : undefined;
  const rows = await openDb(c.env.DB)
    .select()
    .from(a)
    .where(and(q.tenant_id ? eq(a.tenantId, q.tenant_id) : undefined, action, q.after ? lt(a.id, q.after) : undefined))
    .orderBy(desc(a.id))
    .limit(q.limit + 1);
  return c.json({ object: "list" as const, data: rows.slice(0, q.limit).map(view), has_more: rows.length > q.limit }, 200);
});
