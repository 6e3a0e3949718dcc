import { sql } from "drizzle-orm";
import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

const now = sql`(unixepoch('subsec') * 1000)`;

export const tenants = sqliteTable("tenants", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  status: text("status", { enum: ["active", "suspended"] }).notNull().default("active"),
  /** Per-tenant limits; null means the gateway's defaults. */
  rpmLimit: integer("rpm_limit"),
  concurrencyLimit: integer("concurrency_limit"),
  /** Tokens a tenant may use per UTC day; null means unlimited. Exhausting it is a budget, not a rate. */
  dailyTokenBudget: integer("daily_token_budget"),
  createdAt: integer("created_at").notNull().default(now),
});
export type Tenant = typeof tenants.$inferSelect;

export const apiKeys = sqliteTable(
  "api_keys",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id").notNull().references(() => tenants.id),
    name: text("name").notNull(),
    /** First characters of the key, shown in listings so a user can tell keys apart. */
    prefix: text("prefix").notNull(),
    /** SHA-256 of the whole key; the key itself is never stored. */
    hash: text("hash").notNull(),
    scopes: text("scopes", { mode: "json" }).$type<string[]>().notNull(),
    rpmLimit: integer("rpm_limit"),
    concurrencyLimit: integer("concurrency_limit"),
    createdAt: integer("created_at").notNull().default(now),
    revokedAt: integer("revoked_at"),
  },
  (t) => [uniqueIndex("api_keys_hash").on(t.hash), index("api_keys_tenant").on(t.tenantId)],
);
export type ApiKey = typeof apiKeys.$inferSelect;

export const runnerTokens = sqliteTable(
  "runner_tokens",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id").notNull().references(() => tenants.id),
    runnerName: text("runner_name").notNull(),
    prefix: text("prefix").notNull(),
    hash: text("hash").notNull(),
    createdAt: integer("created_at").notNull().default(now),
    revokedAt: integer("revoked_at"),
  },
  (t) => [uniqueIndex("runner_tokens_hash").on(t.hash), index("runner_tokens_tenant").on(t.tenantId)],
);
export type RunnerToken = typeof runnerTokens.$inferSelect;
