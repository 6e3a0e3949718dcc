import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { tenants } from "./tenants.js";

/** Token usage per tenant, UTC day and model; one row upserted per answered request. */
export const usage = sqliteTable(
  "usage",
  {
    tenantId: text("tenant_id").notNull().references(() => tenants.id),
    day: text("day").notNull(),
    model: text("model").notNull(),
    requests: integer("requests").notNull().default(0),
    promptTokens: integer("prompt_tokens").notNull().default(0),
    completionTokens: integer("completion_tokens").notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.day, t.model] })],
);
export type Usage = typeof usage.$inferSelect;

export const auditLog = sqliteTable(
  "audit_log",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    tenantId: text("tenant_id"),
    actor: text("actor").notNull(),
    action: text("action").notNull(),
    target: text("target"),
    detail: text("detail", { mode: "json" }).$type<Record<string, unknown>>(),
    requestId: text("request_id"),
    createdAt: integer("created_at").notNull().default(sql`(unixepoch('subsec') * 1000)`),
  },
  (t) => [index("audit_log_tenant_time").on(t.tenantId, t.createdAt)],
);
export type AuditEntry = typeof auditLog.$inferSelect;
