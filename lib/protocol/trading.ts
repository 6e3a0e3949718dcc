/**
 * The trading council's configuration per tenant: which symbols are watched, the risk limits the
 * risk-manager and the paper broker enforce, and the paper book. No real exchange orders are placed.
 */
import { z } from "zod";
import type { SerializedApiError } from "../errors.js";
import { CallContextSchema } from "./orchestrator.js";

const Symbol = z
  .string()
  .regex(/^[A-Za-z0-9]{2,24}$/, "a trading pair such as BTCUSDT")
  .transform((s) => s.toUpperCase());

export const WatchItemSchema = z.object({
  symbol: Symbol,
  /** A move beyond this percentage within the window opens a council. */
  threshold_pct: z.number().positive().max(100).default(3),
  window_minutes: z.number().int().min(1).max(240).default(15),
  /** Extra guidance handed to the council with every question about this symbol. */
  note: z.string().max(4_000).optional(),
  enabled: z.boolean().default(true),
});
export type WatchItem = z.infer<typeof WatchItemSchema>;

export const RiskLimitsSchema = z.object({
  /** Largest notional (quote currency) held per symbol. */
  max_position: z.number().positive(),
  /** Realised loss per UTC day after which no new BUY is placed. */
  max_daily_loss: z.number().positive(),
  /** Notional of one paper order. */
  order_notional: z.number().positive(),
});
export type RiskLimits = z.infer<typeof RiskLimitsSchema>;

export const TradingCallSchema = z.discriminatedUnion("action", [
  CallContextSchema.extend({ action: z.literal("watch_list") }),
  CallContextSchema.extend({ action: z.literal("watch"), body: WatchItemSchema }),
  CallContextSchema.extend({ action: z.literal("unwatch"), symbol: Symbol }),
  CallContextSchema.extend({ action: z.literal("risk_limits") }),
  CallContextSchema.extend({ action: z.literal("set_risk_limits"), body: RiskLimitsSchema }),
  CallContextSchema.extend({ action: z.literal("positions") }),
]);
export type TradingCall = z.input<typeof TradingCallSchema>;

/**
 * One result type for the council and trading RPCs: a JSON body and its status, or an OpenAI error. `changed`
 * says whether a call that may be repeated harmlessly (a council's decision, its outcome) did anything: the
 * repeat answers like the first, and only the first is the caller's act to audit.
 */
export type RpcReply<T = unknown> =
  | { kind: "ok"; status: number; body: T; changed?: boolean }
  | { kind: "error"; error: SerializedApiError };
