/**
 * Where the prices come from: closes or candles given inline, or candles fetched from the market-data
 * tool over its service binding (same contract the orchestrator uses, same deadline, so its failures
 * keep their codes and retryability).
 */
import { z } from "zod";
import type { ToolInput, ToolResult } from "../../../../lib/protocol/tool.js";
import { ToolFailure, type ToolContext } from "../../../../lib/tools/tool-entrypoint.js";
import type { TechnicalAnalysisArgs } from "./args.js";
import type { PriceSeries } from "./indicators.js";

/** The market-data Worker as seen through a service binding. */
export interface ToolService {
  execute(input: ToolInput): Promise<ToolResult>;
}

export interface Source {
  kind: "closes" | "candles" | "market-data";
  symbol?: string;
  interval?: string;
}

const DEFAULT_INTERVAL = "1h";
const DEFAULT_LIMIT = 200;

const KlinesDataSchema = z.object({
  symbol: z.string(),
  interval: z.string(),
  candles: z.array(z.object({ high: z.number(), low: z.number(), close: z.number() })),
});

export async function loadSeries(
  args: TechnicalAnalysisArgs,
  marketData: ToolService | undefined,
  ctx: ToolContext,
): Promise<{ series: PriceSeries; source: Source }> {
  if (args.closes) return { series: { closes: args.closes }, source: { kind: "closes" } };
  if (args.candles) {
    const candles = args.candles;
    return { series: { closes: candles.map((c) => c.close), candles }, source: { kind: "candles" } };
  }
  return fetchSeries(args, marketData, ctx);
}

async function fetchSeries(
  args: TechnicalAnalysisArgs,
  marketData: ToolService | undefined,
  ctx: ToolContext,
): Promise<{ series: PriceSeries; source: Source }> {
  if (!marketData) {
    throw new ToolFailure("not_configured", "fetching prices by symbol needs the MARKET_DATA service binding");
  }
  const klineArgs = {
    kind: "klines",
    symbol: args.symbol,
    interval: args.interval ?? DEFAULT_INTERVAL,
    limit: args.limit ?? DEFAULT_LIMIT,
  };
  const input = { args: klineArgs, tenantId: ctx.tenantId, requestId: ctx.requestId, deadline: ctx.deadline };
  const result = await marketData.execute(input);
  if (!result.ok) {
    const { code, message, retryable, retryAfterMs } = result.error;
    throw new ToolFailure(code, `market-data: ${message}`, retryable, retryAfterMs);
  }
  const data = KlinesDataSchema.parse(result.data);
  const candles = data.candles;
  return {
    series: { closes: candles.map((c) => c.close), candles },
    source: { kind: "market-data", symbol: data.symbol, interval: data.interval },
  };
}
