/** The tool's arguments. Defaults live in code (and in the descriptions) so callers may omit them. */
import { z } from "zod";
import { INTERVALS } from "./binance.js";

export const DEFAULT_INTERVAL = "1h";
export const DEFAULT_LIMIT = 100;

export const MarketDataArgs = z
  .object({
    kind: z
      .enum(["ticker", "klines"])
      .optional()
      .describe("ticker = 24-hour price statistics; klines = OHLCV candles (default: klines if interval or limit is given, else ticker)"),
    symbol: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9/_-]{1,23}$/, "a trading pair such as BTCUSDT")
      .describe("Binance trading pair, e.g. BTCUSDT or ETH/USDT"),
    interval: z.enum(INTERVALS).optional().describe("candle interval for klines (default 1h)"),
    limit: z.number().int().min(1).max(1000).optional().describe("number of candles for klines, 1-1000 (default 100)"),
  })
  .strict();
export type MarketDataArgs = z.infer<typeof MarketDataArgs>;

/** An interval or a candle count only makes sense for klines, so either one implies them. */
export const wantsKlines = (args: MarketDataArgs): boolean =>
  args.kind === "klines" || (args.kind === undefined && (args.interval !== undefined || args.limit !== undefined));

/** "btc/usdt", "BTC-USDT" and "BTCUSDT" all mean Binance's BTCUSDT. */
export const normaliseSymbol = (symbol: string): string => symbol.replace(/[/_-]/g, "").toUpperCase();
