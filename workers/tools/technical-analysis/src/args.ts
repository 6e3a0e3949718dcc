/**
 * The tool's arguments: which indicator, its parameters, and exactly one source of prices — closes
 * inline, OHLCV candles inline, or a symbol and interval fetched through market-data. Parameter defaults
 * live in indicators.ts (and in the descriptions) so callers may omit them.
 */
import { z } from "zod";
import { MACD_DEFAULTS } from "./params.js";

export const INDICATORS = ["rsi", "macd", "bollinger", "ema", "sma", "stochastic", "williams-r", "cci", "adx"] as const;
export type IndicatorName = (typeof INDICATORS)[number];

// Loose, so candles can be passed on as market-data returns them (with openTime, trades, …).
const CandleSchema = z.looseObject({
  open: z.number().optional(),
  high: z.number(),
  low: z.number(),
  close: z.number(),
  volume: z.number().optional(),
});
export type CandleInput = z.infer<typeof CandleSchema>;

/**
 * Why a candle cannot be one (its low above its high, or its close or open outside them), or null. A model
 * that swaps fields or sends them in another order would otherwise get readings no oscillator can give
 * (Stochastic %K 155, Williams %R +55) instead of being told which candle to fix.
 */
function impossible(c: CandleInput): string | null {
  if (c.low > c.high) return `its low ${c.low} is above its high ${c.high}`;
  for (const field of ["close", "open"] as const) {
    const price = c[field];
    if (price !== undefined && (price < c.low || price > c.high)) {
      return `its ${field} ${price} is outside its low ${c.low} and high ${c.high}`;
    }
  }
  return null;
}

/** Names the first impossible candle only: a whole series sent in the wrong order would fill the message. */
const Candles = z
  .array(CandleSchema)
  .superRefine((candles, ctx) => {
    for (const [i, candle] of candles.entries()) {
      const why = impossible(candle);
      if (why) return ctx.addIssue({ code: "custom", message: `no candle can look like this: ${why}`, path: [i] });
    }
  });

const MAX_INPUTS = 5_000;

export const TechnicalAnalysisArgs = z
  .object({
    indicator: z
      .enum(INDICATORS)
      .describe(
        "rsi, macd, bollinger (Bollinger Bands), ema, sma, stochastic, williams-r (Williams %R), cci, adx",
      ),
    period: z
      .number().int().min(2).max(500).optional()
      .describe("look-back period (defaults: rsi 14, sma/ema 20, bollinger 20, stochastic 14, williams-r 14, cci 20, adx 14)"),
    closes: z.array(z.number()).min(1).max(MAX_INPUTS).optional().describe("closing prices, oldest first"),
    candles: Candles.min(1).max(MAX_INPUTS).optional()
      .describe("OHLCV candles, oldest first; stochastic, williams-r, cci and adx need high, low and close"),
    symbol: z.string().min(2).max(24).optional().describe("trading pair to fetch from market data, e.g. BTCUSDT"),
    interval: z.string().regex(/^\d{1,2}[smhdwM]$/).optional().describe("candle interval when fetching, e.g. 1h or 1d (default 1h)"),
    limit: z.number().int().min(1).max(1000).optional().describe("candles to fetch (default 200)"),
    fastPeriod: z.number().int().min(1).max(500).optional().describe("MACD fast EMA period (default 12)"),
    slowPeriod: z.number().int().min(2).max(500).optional().describe("MACD slow EMA period (default 26)"),
    signalPeriod: z.number().int().min(1).max(500).optional().describe("MACD signal EMA period (default 9)"),
    stdDev: z.number().positive().max(10).optional().describe("Bollinger band width in standard deviations (default 2)"),
    kSmoothing: z.number().int().min(1).max(50).optional().describe("stochastic %K smoothing (default 1)"),
    dPeriod: z.number().int().min(1).max(50).optional().describe("stochastic %D period (default 3)"),
  })
  .strict()
  .superRefine((args, ctx) => {
    const sources = [args.closes, args.candles, args.symbol].filter((s) => s !== undefined).length;
    if (sources !== 1) {
      ctx.addIssue({ code: "custom", message: "give exactly one of closes, candles or symbol", path: ["closes"] });
    }
    // Only MACD has these periods: another indicator ignores them, so they cannot make its call invalid.
    if (args.indicator !== "macd") return;
    // With the defaults filled in: fastPeriod 30 alone is above the default slowPeriod 26.
    const fast = args.fastPeriod ?? MACD_DEFAULTS.fastPeriod;
    const slow = args.slowPeriod ?? MACD_DEFAULTS.slowPeriod;
    if (fast >= slow) {
      ctx.addIssue({
        code: "custom",
        message: `fastPeriod must be below slowPeriod (got ${fast} and ${slow}; the defaults are ${MACD_DEFAULTS.fastPeriod} and ${MACD_DEFAULTS.slowPeriod})`,
        path: ["fastPeriod"],
      });
    }
  });
export type TechnicalAnalysisArgs = z.infer<typeof TechnicalAnalysisArgs>;
