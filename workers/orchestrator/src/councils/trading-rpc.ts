/** The trading desk's configuration and paper book per tenant: watch-list, risk limits, positions. */
import { and, asc, desc, eq } from "drizzle-orm";
import { z } from "zod";
import { openDb, schema } from "../../../../lib/db/index.js";
import { badRequest, notFound } from "../../../../lib/errors.js";
import { TradingCallSchema, type RpcReply } from "../../../../lib/protocol/index.js";
import type { CouncilEnv } from "../../../../durable-objects/council/env.js";
import { councilSettings } from "../../../../durable-objects/council/settings.js";
import { riskLimitsOf } from "../../../../durable-objects/council/trading/limits.js";

const { watchList, riskLimits, paperPositions, paperOrders } = schema;

export async function tradingCall(env: CouncilEnv, raw: unknown): Promise<RpcReply> {
  const parsed = TradingCallSchema.safeParse(raw);
  if (!parsed.success) return { kind: "error", error: badRequest(z.prettifyError(parsed.error)).toJSON() };
  const call = parsed.data;
  const db = openDb(env.DB);
  const t = call.tenantId;
  switch (call.action) {
    case "watch_list": {
      const rows = await db.select().from(watchList).where(eq(watchList.tenantId, t)).orderBy(asc(watchList.symbol));
      return ok(200, { object: "list", data: rows.map(watchView) });
    }
    case "watch": {
      const b = call.body;
      const values = { thresholdPct: b.threshold_pct, windowMinutes: b.window_minutes, note: b.note ?? null, enabled: b.enabled };
      const row = await db
        .insert(watchList)
        .values({ tenantId: t, symbol: b.symbol, ...values })
        .onConflictDoUpdate({ target: [watchList.tenantId, watchList.symbol], set: values })
        .returning()
        .get();
      return ok(200, watchView(row));
    }
    case "unwatch": {
      const gone = await db.delete(watchList).where(and(eq(watchList.tenantId, t), eq(watchList.symbol, call.symbol))).returning().get();
      if (!gone) return { kind: "error", error: notFound(`'${call.symbol}' is not on the watch-list.`).toJSON() };
      return ok(200, { symbol: call.symbol, deleted: true });
    }
    case "risk_limits":
      return ok(200, await riskLimitsOf(env.DB, t, councilSettings(env)));
    case "set_risk_limits": {
      const b = call.body;
      const values = { maxPosition: b.max_position, maxDailyLoss: b.max_daily_loss, orderNotional: b.order_notional, updatedAt: Date.now() };
      await db.insert(riskLimits).values({ tenantId: t, ...values }).onConflictDoUpdate({ target: riskLimits.tenantId, set: values });
      return ok(200, { ...b, source: "tenant" });
    }
    case "positions": {
      const positions = await db.select().from(paperPositions).where(eq(paperPositions.tenantId, t)).orderBy(asc(paperPositions.symbol));
      const orders = await db.select().from(paperOrders).where(eq(paperOrders.tenantId, t)).orderBy(desc(paperOrders.createdAt)).limit(50);
      return ok(200, {
        object: "paper_book",
        positions: positions.map((p) => ({ symbol: p.symbol, qty: p.qty, avg_price: p.avgPrice, realized_pnl: p.realizedPnl, updated_at: p.updatedAt })),
        orders: orders.map((o) => ({ council_id: o.councilId, symbol: o.symbol, side: o.side, qty: o.qty, price: o.price, status: o.status, reason: o.reason, realized_pnl: o.realizedPnl, created_at: o.createdAt })),
      });
    }
  }
}

const ok = (status: number, body: unknown): RpcReply => ({ kind: "ok", status, body });

const watchView = (r: typeof watchList.$inferSelect) => ({
  symbol: r.symbol,
  threshold_pct: r.thresholdPct,
  window_minutes: r.windowMinutes,
  note: r.note,
  enabled: r.enabled,
  last_council_at: r.lastCouncilAt,
});
