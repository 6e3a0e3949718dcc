/**
 * The trading crons. Every minute: each enabled watch-list row's recent candles are checked, and a move
 * beyond its threshold within its window opens a trading council (at most one per row and window: the
 * row is claimed with a conditional update before the council opens, and the council id is derived
 * from the window, so an overlapping or repeated run cannot open two; a council that failed to open gives the
 * claim back, and the next minute's run tries again). Daily: decisions older than the
 * outcome horizon are measured against the market and the outcome moves the assistants' weights.
 */
import { and, asc, eq, isNotNull, isNull, lte } from "drizzle-orm";
import { openDb, schema } from "../../../../lib/db/index.js";
import { Logger } from "../../../../lib/log.js";
import type { CouncilView, RpcReply } from "../../../../lib/protocol/index.js";
import type { CouncilEnv } from "../../../../durable-objects/council/env.js";
import { councilRefusal } from "../../../../durable-objects/council/admission.js";
import { councilSettings, type CouncilSettings } from "../../../../durable-objects/council/settings.js";
import { callTool, lastPrice } from "../../../../durable-objects/council/trading/tools.js";
import { councilStub } from "./rpc.js";

const { watchList, councils } = schema;
export const SCAN_CRON = "* * * * *";
export const MEASURE_CRON = "0 6 * * *";

export async function runCron(env: CouncilEnv, cron: string): Promise<void> {
  const log = new Logger({ component: "council-cron", requestId: `cron-${Date.now()}` }, councilSettings(env).CIO_LOG_LEVEL);
  if (cron === SCAN_CRON) return scanWatchLists(env, log);
  if (cron === MEASURE_CRON) return measureOutcomes(env, log);
  log.warn("unknown cron", { cron });
}

/**
 * A run takes the entries looked at longest ago (never-scanned first) and stamps them before it looks: ordered
 * by their last council, entries that had opened one sorted last and, past one batch, were never looked at again.
 */
export async function scanWatchLists(env: CouncilEnv, log: Logger, now = Date.now()): Promise<void> {
  const s = councilSettings(env);
  const rows = await openDb(env.DB).select().from(watchList).where(eq(watchList.enabled, true)).orderBy(asc(watchList.lastScannedAt)).limit(s.CIO_TRADING_SCAN_BATCH);
  if (!rows.length) return;
  await env.DB.batch(rows.map((r) => env.DB.prepare("UPDATE watch_list SET last_scanned_at = ?3 WHERE tenant_id = ?1 AND symbol = ?2").bind(r.tenantId, r.symbol, now)));
  const results = await Promise.allSettled(rows.map((r) => scanOne(env, s, r, now, log)));
  results.forEach((r, i) => r.status === "rejected" && log.error("watch-list scan failed", { tenantId: rows[i]!.tenantId, symbol: rows[i]!.symbol, err: r.reason }));
}

async function scanOne(env: CouncilEnv, s: CouncilSettings, row: typeof watchList.$inferSelect, now: number, log: Logger) {
  const windowMs = row.windowMinutes * 60_000;
  if (row.lastCouncilAt !== null && now - row.lastCouncilAt < windowMs) return;
  const caller = { tenantId: row.tenantId, requestId: `watch-${row.symbol}-${now}`, timeoutMs: s.CIO_COUNCIL_TOOL_TIMEOUT_MS };
  const r = await callTool(env.TOOL_MARKET_DATA, "market-data", { kind: "klines", symbol: row.symbol, interval: "1m", limit: row.windowMinutes }, caller);
  if (!r.ok) return log.warn("watch-list: market data unavailable", { tenantId: row.tenantId, symbol: row.symbol, code: r.error.code, error: r.error.message });
  const candles = (r.data as { candles?: { open: number; close: number }[] } | undefined)?.candles ?? [];
  const first = candles[0];
  const last = candles.at(-1);
  if (!first || !last || first.open <= 0) return;
  const movePct = (last.close / first.open - 1) * 100;
  if (Math.abs(movePct) < row.thresholdPct) return;
  // As POST /v1/councils would be refused: a suspended tenant, or a spent budget, got a council every window.
  const refused = await councilRefusal(env, row.tenantId);
  if (refused) return log.info("watch-list: tenant may not run councils now; skipped", { tenantId: row.tenantId, symbol: row.symbol, reason: refused });
  // Claim the row for this window; a concurrent or repeated run finds it claimed and stops here.
  const claimed = await env.DB.prepare(
    `UPDATE watch_list SET last_council_at = ?3 WHERE tenant_id = ?1 AND symbol = ?2 AND (last_council_at IS NULL OR last_council_at <= ?4)`,
  )
    .bind(row.tenantId, row.symbol, now, now - windowMs)
    .run();
  if (!claimed.meta.changes) return;
  const councilId = `watch-${row.symbol.toLowerCase()}-${Math.floor(now / windowMs)}`;
  const sign = movePct > 0 ? "+" : "";
  const question =
    `${row.symbol} moved ${sign}${movePct.toFixed(2)}% in the last ${row.windowMinutes} minutes (${first.open} → ${last.close}). ` +
    `Should we BUY, SELL or HOLD?${row.note ? ` ${row.note}` : ""}`;
  // RPC typing cannot map the reply's union, so it is typed by its declaration.
  const start = councilStub(env, row.tenantId, councilId).start({ tenantId: row.tenantId, councilId, requestId: caller.requestId, body: { question, preset: "trading", symbol: row.symbol } });
  const reply = await (start as unknown as Promise<RpcReply<CouncilView>>).catch(async (err: unknown) => {
    await unclaim(env.DB, row, now);
    throw err;
  });
  if (reply.kind === "ok") return log.info("watch-list move opened a council", { tenantId: row.tenantId, symbol: row.symbol, movePct, councilId });
  // An earlier run's start that reached the council but not its answer: the window has its council.
  if (reply.error.error.code === "council_exists") return log.info("watch-list: this window's council is already open", { tenantId: row.tenantId, symbol: row.symbol, councilId });
  // A 5xx may pass (D1 down): the next minute's run tries again. A 4xx would be the same answer again.
  if (reply.error.status >= 500) await unclaim(env.DB, row, now);
  throw new Error(`council could not open: ${reply.error.error.message}`);
}

/**
 * Gives a claim back when its council did not open, so the move is not lost for the whole window. Only this
 * run's own claim: another run may have claimed the row since.
 */
async function unclaim(d1: D1Database, row: typeof watchList.$inferSelect, claimedAt: number) {
  await d1
    .prepare("UPDATE watch_list SET last_council_at = ?4 WHERE tenant_id = ?1 AND symbol = ?2 AND last_council_at = ?3")
    .bind(row.tenantId, row.symbol, claimedAt, row.lastCouncilAt)
    .run();
}

export async function measureOutcomes(env: CouncilEnv, log: Logger, now = Date.now()): Promise<void> {
  const s = councilSettings(env);
  const due = await dueForMeasurement(env.DB, s, now);
  if (!due.length) return;
  // Stamped before they are tried, so a council that fails for a passing reason (no price today) waits
  // behind the others next time rather than taking the same place in every run's batch.
  await env.DB.batch(due.map((c) => env.DB.prepare("UPDATE councils SET measure_tried_at = ?3 WHERE tenant_id = ?1 AND id = ?2").bind(c.tenantId, c.id, now)));
  const prices = new Map<string, Promise<number | null>>();
  const priceOf = (tenantId: string, symbol: string) => {
    if (!prices.has(symbol)) {
      const caller = { tenantId, requestId: `measure-${symbol}-${now}`, timeoutMs: s.CIO_COUNCIL_TOOL_TIMEOUT_MS };
      prices.set(symbol, callTool(env.TOOL_MARKET_DATA, "market-data", { kind: "ticker", symbol }, caller).then(lastPrice));
    }
    return prices.get(symbol)!;
  };
  const results = await Promise.allSettled(
    due.map(async (c) => {
      if (!c.symbol || !c.refPrice) return;
      const price = await priceOf(c.tenantId, c.symbol);
      if (price === null) return log.warn("outcome: no market price", { tenantId: c.tenantId, councilId: c.id, symbol: c.symbol });
      const option = rightCall(c.refPrice, price, s.CIO_TRADING_OUTCOME_MOVE_PCT);
      const reply = await councilStub(env, c.tenantId, c.id).outcome(c.tenantId, { option }, "measured");
      if (reply.kind === "error") {
        // A 5xx is the council failing now (D1 down, say), which the next run may not; a 4xx is its answer for good.
        if (reply.error.status >= 500) throw new Error(reply.error.error.message);
        await unmeasurable(env.DB, c, `${reply.error.error.code}: ${reply.error.error.message}`, log);
      }
    }),
  );
  results.forEach((r, i) => r.status === "rejected" && log.error("outcome measurement failed", { tenantId: due[i]!.tenantId, councilId: due[i]!.id, err: r.reason }));
}

/**
 * The council refused the outcome (an option it does not have, no such council, not decided): asking again
 * tomorrow gets the same answer, so it leaves the due set for good, with the reason kept on its row.
 */
async function unmeasurable(d1: D1Database, c: { tenantId: string; id: string }, reason: string, log: Logger) {
  log.warn("outcome cannot be measured", { tenantId: c.tenantId, councilId: c.id, reason });
  await d1.prepare("UPDATE councils SET measure_error = ?3 WHERE tenant_id = ?1 AND id = ?2").bind(c.tenantId, c.id, reason.slice(0, 500)).run();
}

/**
 * Decided trading councils past the outcome horizon, never tried or tried longest ago first, then oldest first,
 * and only those that can be measured (one without a reference price, or one that refused its outcome, never
 * can): rows skipped without an outcome must not fill every day's batch.
 */
export function dueForMeasurement(d1: D1Database, s: CouncilSettings, now: number) {
  return openDb(d1)
    .select({ tenantId: councils.tenantId, id: councils.id, symbol: councils.symbol, refPrice: councils.refPrice })
    .from(councils)
    .where(
      and(
        eq(councils.preset, "trading"),
        isNull(councils.outcome),
        isNotNull(councils.decision),
        isNotNull(councils.symbol),
        isNotNull(councils.refPrice),
        isNull(councils.measureError),
        lte(councils.decidedAt, now - s.CIO_TRADING_OUTCOME_HOURS * 3_600_000),
      ),
    )
    .orderBy(asc(councils.measureTriedAt), asc(councils.decidedAt))
    .limit(s.CIO_TRADING_SCAN_BATCH);
}

/** What would have been right: BUY if the price rose by more than the band, SELL if it fell, else HOLD. */
export function rightCall(refPrice: number, price: number, bandPct: number): "BUY" | "SELL" | "HOLD" {
  const movePct = (price / refPrice - 1) * 100;
  if (movePct > bandPct) return "BUY";
  if (movePct < -bandPct) return "SELL";
  return "HOLD";
}
