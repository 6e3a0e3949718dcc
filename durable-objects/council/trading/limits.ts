/** A tenant's risk limits: its own row, or the deployment's defaults when it set none. */
import { eq } from "drizzle-orm";
import { openDb, schema } from "../../../lib/db/index.js";
import type { RiskLimits } from "../../../lib/protocol/trading.js";
import type { CouncilSettings } from "../settings.js";

export async function riskLimitsOf(d1: D1Database, tenantId: string, s: CouncilSettings): Promise<RiskLimits & { source: "tenant" | "default" }> {
  const row = await openDb(d1).select().from(schema.riskLimits).where(eq(schema.riskLimits.tenantId, tenantId)).get();
  if (row) return { max_position: row.maxPosition, max_daily_loss: row.maxDailyLoss, order_notional: row.orderNotional, source: "tenant" };
  return {
    max_position: s.CIO_TRADING_MAX_POSITION,
    max_daily_loss: s.CIO_TRADING_MAX_DAILY_LOSS,
    order_notional: s.CIO_TRADING_ORDER_NOTIONAL,
    source: "default",
  };
}
