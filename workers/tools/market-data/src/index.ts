/**
 * market-data: live crypto market data from Binance's public REST API — the 24-hour ticker for a quick
 * price answer, klines (OHLCV candles) for charts and for technical-analysis.
 */
import { toolOk, type ToolResult } from "../../../../lib/protocol/tool.js";
import { ToolEntrypoint, type ToolContext } from "../../../../lib/tools/tool-entrypoint.js";
import { DEFAULT_INTERVAL, DEFAULT_LIMIT, MarketDataArgs, normaliseSymbol, wantsKlines } from "./args.js";
import { BinanceClient, type Candle, type Ticker } from "./binance.js";
import { settingsFrom, type Env } from "./settings.js";

export default class MarketDataTool extends ToolEntrypoint<Env, typeof MarketDataArgs> {
  readonly args = MarketDataArgs;
  readonly info = {
    name: "market-data",
    description:
      "Live cryptocurrency market data from Binance: current price and 24-hour change, high, low and volume " +
      "for a trading pair (ticker), or OHLCV candles (klines) for an interval such as 1m, 1h or 1d.",
    timeoutMs: 8_000,
    version: "1.0.0",
    examples: [
      "What is the price of BTCUSDT right now?",
      "How much did ETHUSDT move in the last 24 hours?",
      "Get the last 50 hourly candles for SOLUSDT",
      "Show BTCUSDT daily klines for the past 30 days",
      "Current bitcoin price and 24h volume on Binance",
    ],
  };

  protected async run(args: MarketDataArgs, ctx: ToolContext): Promise<ToolResult> {
    const client = new BinanceClient(settingsFrom(this.env).baseUrl, ctx.signal);
    const symbol = normaliseSymbol(args.symbol);
    if (wantsKlines(args)) {
      const interval = args.interval ?? DEFAULT_INTERVAL;
      const candles = await client.klines(symbol, interval, args.limit ?? DEFAULT_LIMIT);
      return toolOk(describeKlines(symbol, interval, candles), { kind: "klines", symbol, interval, candles });
    }
    const ticker = await client.ticker24h(symbol);
    return toolOk(describeTicker(ticker), { kind: "ticker", ...ticker });
  }
}

function describeTicker(t: Ticker): string {
  const sign = t.priceChangePercent > 0 ? "+" : "";
  return (
    `${t.symbol} last price ${t.lastPrice} (${sign}${t.priceChangePercent}% over 24 h; ` +
    `high ${t.highPrice}, low ${t.lowPrice}, volume ${t.volume}).`
  );
}

function describeKlines(symbol: string, interval: string, candles: Candle[]): string {
  const first = candles[0];
  const last = candles.at(-1);
  if (!first || !last) return `${symbol} ${interval}: Binance returned no candles for this range.`;
  const high = Math.max(...candles.map((c) => c.high));
  const low = Math.min(...candles.map((c) => c.low));
  const from = new Date(first.openTime).toISOString();
  const to = new Date(last.closeTime).toISOString();
  return (
    `${symbol} ${interval}: ${candles.length} candles from ${from} to ${to}; ` +
    `last close ${last.close}, range ${low}–${high}.`
  );
}
