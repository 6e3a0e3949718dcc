/**
 * The paper broker: turns a council's BUY or SELL into a paper order, enforcing the tenant's risk
 * limits, and keeps the paper position and realised P&L in D1. Long-only: SELL reduces what is held.
 * One order per council (its primary key), so a replayed decision never trades twice.
 */
import { and, eq, sql } from "drizzle-orm";
import { openDb, schema } from "../../../lib/db/index.js";
import { utcDay } from "../../../lib/time.js";
import type { CouncilSettings } from "../settings.js";
import { paperExchange, type ExchangeAdapter, type Fill } from "./exchange.js";
import { riskLimitsOf } from "./limits.js";

const { paperOrders, paperPositions } = schema;

export interface PaperOrderView {
  council_id: string;
  symbol: string;
  side: string;
  qty: number;
  price: number;
  status: "filled" | "rejected" | "failed" | "none";
  reason: string | null;
  realized_pnl: number;
}

export interface OrderIntent {
  tenantId: string;
  councilId: string;
  symbol: string;
  side: string;
  price: number;
}

/** Tries of an order whose position another order moved between its read and its write. */
const PLACE_ATTEMPTS = 5;

export async function placePaperOrder(d1: D1Database, o: OrderIntent, s: CouncilSettings, exchange: ExchangeAdapter = paperExchange): Promise<PaperOrderView> {
  const side = o.side;
  if (side !== "BUY" && side !== "SELL") return view(o, 0, "none", `${side}: no order`, 0);
  for (let attempt = 1; ; attempt++) {
    const placed = await tryPlace(d1, { ...o, side }, s, exchange);
    if (placed) return placed;
    if (attempt >= PLACE_ATTEMPTS) {
      const reason = `the ${o.symbol} position kept changing under concurrent orders (${PLACE_ATTEMPTS} tries)`;
      return rejectPaperOrder(d1, o, reason);
    }
  }
}

/**
 * One try: sized from the position and today's realised P&L as read, written only if the position is still
 * that and, for a BUY, the day's loss still short of the limit (both checked in the order's own insert, one D1
 * transaction). Two councils' orders on a symbol at once were both sized from the same room and together
 * overshot the risk limit; a losing SELL on another symbol landing between a BUY's read and its write let the
 * BUY through past the max daily loss. Now the later one is sized again from what the other did (and a BUY
 * then refused for the day's loss). Returns null when the position or the day's loss moved.
 */
async function tryPlace(d1: D1Database, o: OrderIntent & { side: "BUY" | "SELL" }, s: CouncilSettings, exchange: ExchangeAdapter): Promise<PaperOrderView | null> {
  const db = openDb(d1);
  const existing = await db.select().from(paperOrders).where(and(eq(paperOrders.tenantId, o.tenantId), eq(paperOrders.councilId, o.councilId))).get();
  if (existing) return view(o, existing.qty, existing.status as "filled" | "rejected", existing.reason, existing.realizedPnl, existing.side, existing.price);

  const limits = await riskLimitsOf(d1, o.tenantId, s);
  const pos = await db.select().from(paperPositions).where(and(eq(paperPositions.tenantId, o.tenantId), eq(paperPositions.symbol, o.symbol))).get();
  const held = pos?.qty ?? 0;
  const day = utcDay();
  const lossToday = await dailyRealized(d1, o.tenantId, day);
  const plan = sizeOrder(o, held, limits, lossToday);
  if ("reject" in plan) {
    await insertOrder(d1, o, 0, "rejected", plan.reject, 0, day);
    return view(o, 0, "rejected", plan.reject, 0);
  }
  const fill = await exchange.place({ clientOrderId: `${o.tenantId}:${o.councilId}`, symbol: o.symbol, side: o.side, qty: plan.qty, price: o.price });
  const realized = o.side === "SELL" ? (fill.price - (pos?.avgPrice ?? 0)) * fill.qty : 0;
  const guard = { day, held, maxDailyLoss: limits.max_daily_loss };
  const [order] = await d1.batch([filledOrderStatement(d1, o, fill, realized, guard), o.side === "BUY" ? buyStatement(d1, o, fill) : sellStatement(d1, o, fill)]);
  // No row: the order was recorded meanwhile (a replay, answered by the next try's read), the position moved,
  // or a BUY's day reached its max loss (refused by the next try's read).
  if (!order!.meta.changes) return null;
  return view(o, fill.qty, "filled", null, realized, o.side, fill.price);
}

/** What an order was sized from, checked again where it is written. */
interface Guard {
  day: string;
  held: number;
  maxDailyLoss: number;
}

/**
 * The order row, written only while the position is still `held`, for a BUY only while the day's realised P&L
 * is above -max daily loss (sizeOrder's rule), and only once per council.
 */
const filledOrderStatement = (d1: D1Database, o: OrderIntent, fill: Fill, pnl: number, g: Guard) =>
  d1
    .prepare(
      `INSERT OR IGNORE INTO paper_orders (tenant_id, council_id, symbol, side, qty, price, status, reason, realized_pnl, day, created_at)
       SELECT ?1, ?2, ?3, ?4, ?5, ?6, 'filled', NULL, ?7, ?8, ?9
       WHERE coalesce((SELECT qty FROM paper_positions WHERE tenant_id = ?1 AND symbol = ?3), 0) = ?10
         AND (?4 <> 'BUY' OR coalesce((SELECT sum(realized_pnl) FROM paper_orders WHERE tenant_id = ?1 AND day = ?8), 0) > -?11)`,
    )
    .bind(o.tenantId, o.councilId, o.symbol, o.side, fill.qty, fill.price, pnl, g.day, Date.now(), g.held, g.maxDailyLoss);

// The position moves only when the order row was just written: `changes()` is the row count of the batch's
// statement before (same transaction, same connection).
const buyStatement = (d1: D1Database, o: OrderIntent, fill: Fill) =>
  d1
    .prepare(
      `INSERT INTO paper_positions (tenant_id, symbol, qty, avg_price, realized_pnl, updated_at)
       SELECT ?1, ?2, ?3, ?4, 0, ?5 WHERE changes() = 1
       ON CONFLICT (tenant_id, symbol) DO UPDATE SET
         qty = qty + ?3,
         avg_price = (qty * avg_price + ?3 * ?4) / (qty + ?3),
         updated_at = ?5`,
    )
    .bind(o.tenantId, o.symbol, fill.qty, fill.price, Date.now());

const sellStatement = (d1: D1Database, o: OrderIntent, fill: Fill) =>
  d1
    .prepare(
      `UPDATE paper_positions SET
         realized_pnl = realized_pnl + (?3 - avg_price) * min(qty, ?4),
         avg_price = CASE WHEN qty - min(qty, ?4) > 1e-12 THEN avg_price ELSE 0 END,
         qty = qty - min(qty, ?4),
         updated_at = ?5
       WHERE tenant_id = ?1 AND symbol = ?2 AND changes() = 1`,
    )
    .bind(o.tenantId, o.symbol, fill.price, fill.qty, Date.now());

/** An order that cannot be placed at all (no market price to fill it at), recorded as rejected like the others. */
export async function rejectPaperOrder(d1: D1Database, o: OrderIntent, reason: string): Promise<PaperOrderView> {
  await insertOrder(d1, o, 0, "rejected", reason, 0, utcDay());
  return view(o, 0, "rejected", reason, 0);
}

/**
 * An order the council gave up placing (its step kept throwing), recorded as failed so the paper book shows
 * it. Written only where no row is yet: one that a lost reply had written already is the order, and is read.
 */
export async function failPaperOrder(d1: D1Database, o: OrderIntent, reason: string): Promise<PaperOrderView> {
  await insertOrder(d1, o, 0, "failed", reason, 0, utcDay());
  const row = await openDb(d1).select().from(paperOrders).where(and(eq(paperOrders.tenantId, o.tenantId), eq(paperOrders.councilId, o.councilId))).get();
  if (!row) throw new Error(`the failed paper order of council ${o.councilId} was not recorded`);
  return view(o, row.qty, row.status as PaperOrderView["status"], row.reason, row.realizedPnl, row.side, row.price);
}

type Plan = { qty: number } | { reject: string };

function sizeOrder(o: OrderIntent, held: number, l: { max_position: number; max_daily_loss: number; order_notional: number }, realizedToday: number): Plan {
  if (o.side === "SELL") {
    if (held <= 1e-12) return { reject: "no position to sell (paper trading is long-only)" };
    return { qty: Math.min(held, l.order_notional / o.price) };
  }
  if (realizedToday <= -l.max_daily_loss) return { reject: `max daily loss reached (${realizedToday.toFixed(2)} ≤ -${l.max_daily_loss})` };
  const room = l.max_position - held * o.price;
  if (room <= 1e-9) return { reject: `max position reached (${(held * o.price).toFixed(2)} of ${l.max_position})` };
  return { qty: Math.min(l.order_notional, room) / o.price };
}

async function dailyRealized(d1: D1Database, tenantId: string, day: string): Promise<number> {
  const row = await openDb(d1)
    .select({ pnl: sql<number>`coalesce(sum(${paperOrders.realizedPnl}), 0)` })
    .from(paperOrders)
    .where(and(eq(paperOrders.tenantId, tenantId), eq(paperOrders.day, day)))
    .get();
  return row?.pnl ?? 0;
}

const insertOrderStatement = (d1: D1Database, o: OrderIntent, qty: number, status: string, reason: string | null, pnl: number, day: string, price = o.price) =>
  d1
    .prepare(
      `INSERT OR IGNORE INTO paper_orders (tenant_id, council_id, symbol, side, qty, price, status, reason, realized_pnl, day, created_at)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)`,
    )
    .bind(o.tenantId, o.councilId, o.symbol, o.side, qty, price, status, reason, pnl, day, Date.now());

const insertOrder = async (d1: D1Database, o: OrderIntent, qty: number, status: string, reason: string, pnl: number, day: string) =>
  void (await insertOrderStatement(d1, o, qty, status, reason, pnl, day).run());

function view(o: OrderIntent, qty: number, status: PaperOrderView["status"], reason: string | null, pnl: number, side = o.side, price = o.price): PaperOrderView {
  return { council_id: o.councilId, symbol: o.symbol, side, qty, price, status, reason, realized_pnl: pnl };
}
