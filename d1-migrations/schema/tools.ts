import { sql } from "drizzle-orm";
import { index, integer, primaryKey, real, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { tenants } from "./tenants.js";

const now = sql`(unixepoch('subsec') * 1000)`;

/**
 * The tool registry: name → how to reach the tool. `transport` is `rpc` (a service binding named by
 * `target`), `https` (`target` is a base URL answering POST /execute, HMAC-signed) or `local` (served by
 * the orchestrator itself). RPC and local rows are seeded from the orchestrator's bindings at start-up.
 * `public` tools are offered to every tenant; others only to tenants on their allow-list (tool_grants).
 */
export const tools = sqliteTable("tools", {
  name: text("name").primaryKey(),
  transport: text("transport", { enum: ["rpc", "https", "local"] }).notNull(),
  target: text("target").notNull(),
  manifest: text("manifest", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
  enabled: integer("enabled", { mode: "boolean" }).notNull().default(true),
  public: integer("public", { mode: "boolean" }).notNull().default(true),
  updatedAt: integer("updated_at").notNull().default(now),
});
export type ToolRow = typeof tools.$inferSelect;

/** The per-tenant allow-list for tools that are not public. */
export const toolGrants = sqliteTable(
  "tool_grants",
  {
    tenantId: text("tenant_id").notNull().references(() => tenants.id),
    toolName: text("tool_name").notNull().references(() => tools.name),
    createdAt: integer("created_at").notNull().default(now),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.toolName] })],
);

/** Every tool call, written off the answer's path; feedback finds the tools of an answer through it. */
export const toolCalls = sqliteTable(
  "tool_calls",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    tenantId: text("tenant_id").notNull(),
    requestId: text("request_id").notNull(),
    toolName: text("tool_name").notNull(),
    latencyMs: integer("latency_ms").notNull(),
    ok: integer("ok", { mode: "boolean" }).notNull(),
    errorCode: text("error_code"),
    createdAt: integer("created_at").notNull().default(now),
  },
  (t) => [index("tool_calls_tenant_request").on(t.tenantId, t.requestId), index("tool_calls_tenant_time").on(t.tenantId, t.createdAt)],
);

/**
 * Per tenant and tool: moving averages of success (0..1), latency (ms) and user rating (-1..1). They
 * order the tools offered to the model and the builtin planner's choice.
 */
export const toolStats = sqliteTable(
  "tool_stats",
  {
    tenantId: text("tenant_id").notNull(),
    toolName: text("tool_name").notNull(),
    calls: integer("calls").notNull().default(0),
    successEma: real("success_ema").notNull().default(1),
    latencyEma: real("latency_ema").notNull().default(0),
    ratingEma: real("rating_ema").notNull().default(0),
    ratings: integer("ratings").notNull().default(0),
    updatedAt: integer("updated_at").notNull().default(now),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.toolName] })],
);
export type ToolStatsRow = typeof toolStats.$inferSelect;

/** One rating per answer (tenant + request id); a second one is refused rather than silently counted twice. */
export const toolFeedback = sqliteTable(
  "tool_feedback",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    tenantId: text("tenant_id").notNull(),
    requestId: text("request_id").notNull(),
    rating: real("rating").notNull(),
    createdAt: integer("created_at").notNull().default(now),
  },
  // tenant_time: the hourly cron deletes ratings past CIO_LEARNING_RETENTION_S, tenant by tenant (lib/db/older-rows.ts).
  (t) => [uniqueIndex("tool_feedback_tenant_request").on(t.tenantId, t.requestId), index("tool_feedback_tenant_time").on(t.tenantId, t.createdAt)],
);

/**
 * The part of an agent turn the client never saw. A turn that ends with a call to a client tool leaves our
 * own tool calls and their results on the server; they are kept here under the first client call's id and
 * put back into the conversation when the client returns with its tool results, with the key that made it.
 */
export const agentContinuations = sqliteTable(
  "agent_continuations",
  {
    tenantId: text("tenant_id").notNull(),
    /**
     * The API key whose call made the turn; only that key gets it back. The turn holds what our tools returned
     * (the on-prem database's rows, say), which another key of the tenant may lack the scope to read.
     */
    keyId: text("key_id").notNull(),
    /** The first client call's id and a digest of the calls' names and arguments (agent/continuation.ts). */
    callId: text("call_id").notNull(),
    requestId: text("request_id").notNull(),
    /** The client calls as the client received them: the echo must match them to be replaced. */
    clientCalls: text("client_calls", { mode: "json" }).$type<{ id: string; name: string }[]>().notNull(),
    /** The turn's messages as the model saw them (assistant rounds with all their calls, our tool results). */
    turn: text("turn", { mode: "json" }).$type<unknown[]>().notNull(),
    createdAt: integer("created_at").notNull().default(now),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.keyId, t.callId] }), index("agent_continuations_tenant_time").on(t.tenantId, t.createdAt)],
);
