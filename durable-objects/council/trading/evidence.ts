/**
 * Each trading assistant's evidence, gathered once before round 1 through the tool Workers (and D1 for
 * the risk-manager). A tool that fails is reported as unavailable in the evidence, so the council still
 * sits — with less to go on, and saying so.
 */
import { and, eq } from "drizzle-orm";
import { openDb, schema } from "../../../lib/db/index.js";
import type { Logger } from "../../../lib/log.js";
import type { ToolResult } from "../../../lib/protocol/tool.js";
import type { CouncilEnv } from "../env.js";
import type { CouncilSettings } from "../settings.js";
import { riskLimitsOf } from "./limits.js";
import { asEvidence, callTool, lastPrice, type ToolCaller } from "./tools.js";

export interface Evidence {
  byAssistant: Record<string, string>;
  price: number | null;
}

export async function gatherEvidence(env: CouncilEnv, s: CouncilSettings, c: ToolCaller, symbol: string, log: Logger): Promise<Evidence> {
  const call = (svc: CouncilEnv["TOOL_MARKET_DATA"], name: string, args: Record<string, unknown>) =>
    callTool(svc, name, args, c).then((r) => (logFailure(log, name, r), r));
  const [ticker, rsi, macd, news, risk] = await Promise.all([
    call(env.TOOL_MARKET_DATA, "market-data", { kind: "ticker", symbol }),
    call(env.TOOL_TECHNICAL_ANALYSIS, "technical-analysis", { indicator: "rsi", symbol, interval: "1h" }),
    call(env.TOOL_TECHNICAL_ANALYSIS, "technical-analysis", { indicator: "macd", symbol, interval: "1h" }),
    call(env.TOOL_WEB_SEARCH, "web-search", { query: `${baseAsset(symbol)} crypto news`, count: 5, freshness: "pd" }),
    riskEvidence(env.DB, c.tenantId, symbol, s),
  ]);
  const price = lastPrice(ticker);
  return {
    price,
    byAssistant: {
      "market-monitor": asEvidence("market-data", ticker),
      "technical-analyst": `${asEvidence("technical-analysis", rsi)}\n${asEvidence("technical-analysis", macd)}`,
      "fundamental-analyst": asEvidence("web-search", news),
      "risk-manager": `${risk}${price ? `\nLast price: ${price}.` : ""}`,
    },
  };
}

async function riskEvidence(d1: D1Database, tenantId: string, symbol: string, s: CouncilSettings): Promise<string> {
  const limits = await riskLimitsOf(d1, tenantId, s);
  const pos = await openDb(d1)
    .select()
    .from(schema.paperPositions)
    .where(and(eq(schema.paperPositions.tenantId, tenantId), eq(schema.paperPositions.symbol, symbol)))
    .get();
  return [
    `Risk limits (${limits.source}): max position ${limits.max_position}, max daily loss ${limits.max_daily_loss}, order size ${limits.order_notional}.`,
    pos ? `Held: ${pos.qty} ${symbol} at average ${pos.avgPrice}; realised P&L ${pos.realizedPnl}.` : `Held: nothing in ${symbol}.`,
  ].join("\n");
}

function logFailure(log: Logger, name: string, r: ToolResult) {
  if (!r.ok) log.warn("trading evidence tool failed", { tool: name, code: r.error.code, error: r.error.message });
}

/** BTCUSDT → BTC: the asset people write news about. */
export const baseAsset = (symbol: string) => symbol.replace(/(USDT|USDC|BUSD|USD|EUR|BTC|ETH)$/, "") || symbol;
