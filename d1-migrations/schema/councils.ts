/**
 * Councils and the trading desk. CouncilDO is the live state; these tables are the audit trail (every
 * round, position and decision), the learned assistant weights, and the trading configuration and paper
 * book. Every row is owned by a tenant and every query filters by it.
 */
import { sql } from "drizzle-orm";
import { index, integer, primaryKey, real, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { tenants } from "./tenants.js";

const now = sql`(unixepoch('subsec') * 1000)`;

export const councils = sqliteTable(
  "councils",
  {
    tenantId: text("tenant_id").notNull().references(() => tenants.id),
    id: text("id").notNull(),
    question: text("question").notNull(),
    context: text("context"),
    preset: text("preset"),
    symbol: text("symbol"),
    options: text("options", { mode: "json" }).$type<string[] | null>(),
    assistants: text("assistants", { mode: "json" }).$type<{ id: string; model: string; weight: number; base_weight: number }[]>().notNull(),
    threshold: real("threshold").notNull(),
    maxRounds: integer("max_rounds").notNull(),
    status: text("status").notNull(),
    decision: text("decision"),
    decisionSource: text("decision_source"),
    /** Market price when the council opened (trading), the reference for measuring the outcome. */
    refPrice: real("ref_price"),
    outcome: text("outcome"),
    outcomeSource: text("outcome_source"),
    sessionId: text("session_id"),
    createdAt: integer("created_at").notNull().default(now),
    decidedAt: integer("decided_at"),
    outcomeAt: integer("outcome_at"),
    /** When the daily measurement last tried this council: runs take the longest untried first, so councils
     * that keep failing (no market price) go to the back instead of filling every run's batch. */
    measureTriedAt: integer("measure_tried_at"),
    /** Why the outcome can never be measured (the council refused it); the council is no longer due. */
    measureError: text("measure_error"),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    // GET /v1/councils pages a tenant's councils by (created_at, id).
    index("councils_tenant_created").on(t.tenantId, t.createdAt),
    index("councils_outcome_due").on(t.preset, t.outcome, t.measureTriedAt, t.decidedAt),
  ],
);
export type CouncilRow = typeof councils.$inferSelect;

export const councilRounds = sqliteTable(
  "council_rounds",
  {
    tenantId: text("tenant_id").notNull(),
    councilId: text("council_id").notNull(),
    round: integer("round").notNull(),
    tally: text("tally", { mode: "json" }).$type<Record<string, number>>().notNull(),
    leader: text("leader"),
    share: real("share").notNull(),
    consensus: integer("consensus", { mode: "boolean" }).notNull(),
    finishedAt: integer("finished_at").notNull().default(now),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.councilId, t.round] })],
);

export const councilPositions = sqliteTable(
  "council_positions",
  {
    tenantId: text("tenant_id").notNull(),
    councilId: text("council_id").notNull(),
    round: integer("round").notNull(),
    assistantId: text("assistant_id").notNull(),
    option: text("option").notNull(),
    confidence: real("confidence").notNull(),
    reasoning: text("reasoning").notNull(),
    weight: real("weight").notNull(),
    error: text("error"),
    createdAt: integer("created_at").notNull().default(now),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.councilId, t.round, t.assistantId] })],
);

/** Decisions and outcomes, append-only: the consensus or the human's choice, then the measured result. */
export const councilDecisions = sqliteTable(
  "council_decisions",
  {
    tenantId: text("tenant_id").notNull(),
    councilId: text("council_id").notNull(),
    kind: text("kind").notNull(), // "decision" | "outcome"
    option: text("option").notNull(),
    source: text("source").notNull(),
    note: text("note"),
    createdAt: integer("created_at").notNull().default(now),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.councilId, t.kind] })],
);

/** Per tenant and assistant: the track record the vote weight is derived from. */
export const assistantWeights = sqliteTable(
  "assistant_weights",
  {
    tenantId: text("tenant_id").notNull(),
    assistantId: text("assistant_id").notNull(),
    correct: integer("correct").notNull().default(0),
    total: integer("total").notNull().default(0),
    updatedAt: integer("updated_at").notNull().default(now),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.assistantId] })],
);

export const watchList = sqliteTable(
  "watch_list",
  {
    tenantId: text("tenant_id").notNull().references(() => tenants.id),
    symbol: text("symbol").notNull(),
    thresholdPct: real("threshold_pct").notNull(),
    windowMinutes: integer("window_minutes").notNull(),
    note: text("note"),
    enabled: integer("enabled", { mode: "boolean" }).notNull().default(true),
    /** The last council this entry opened; no new one opens while it is younger than the window. */
    lastCouncilAt: integer("last_council_at"),
    /** When a cron run last looked at the entry: runs take the longest unlooked-at first, so every entry gets its turn. */
    lastScannedAt: integer("last_scanned_at"),
    createdAt: integer("created_at").notNull().default(now),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.symbol] }), index("watch_list_scan").on(t.enabled, t.lastScannedAt)],
);
export type WatchRow = typeof watchList.$inferSelect;

export const riskLimits = sqliteTable("risk_limits", {
  tenantId: text("tenant_id").primaryKey().references(() => tenants.id),
  maxPosition: real("max_position").notNull(),
  maxDailyLoss: real("max_daily_loss").notNull(),
  orderNotional: real("order_notional").notNull(),
  updatedAt: integer("updated_at").notNull().default(now),
});

export const paperOrders = sqliteTable(
  "paper_orders",
  {
    tenantId: text("tenant_id").notNull(),
    councilId: text("council_id").notNull(),
    symbol: text("symbol").notNull(),
    side: text("side").notNull(),
    qty: real("qty").notNull(),
    price: real("price").notNull(),
    status: text("status").notNull(), // "filled" | "rejected" | "failed" (given up after its step kept failing)
    reason: text("reason"),
    realizedPnl: real("realized_pnl").notNull().default(0),
    day: text("day").notNull(),
    createdAt: integer("created_at").notNull().default(now),
  },
  // One order per council: replaying a decision cannot trade twice.
  (t) => [primaryKey({ columns: [t.tenantId, t.councilId] }), index("paper_orders_day").on(t.tenantId, t.day)],
);
export type PaperOrder = typeof paperOrders.$inferSelect;

export const paperPositions = sqliteTable(
  "paper_positions",
  {
    tenantId: text("tenant_id").notNull(),
    symbol: text("symbol").notNull(),
    qty: real("qty").notNull().default(0),
    avgPrice: real("avg_price").notNull().default(0),
    realizedPnl: real("realized_pnl").notNull().default(0),
    updatedAt: integer("updated_at").notNull().default(now),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.symbol] })],
);
export type PaperPosition = typeof paperPositions.$inferSelect;
