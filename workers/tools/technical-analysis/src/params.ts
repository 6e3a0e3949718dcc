/** Indicator parameters with the conventional defaults (Wilder, Appel, Bollinger, Lane; TradingView's Stoch 14,1,3). */
import type { IndicatorName, TechnicalAnalysisArgs } from "./args.js";

export interface Params {
  period: number;
  fastPeriod: number;
  slowPeriod: number;
  signalPeriod: number;
  stdDev: number;
  kSmoothing: number;
  dPeriod: number;
}

const DEFAULT_PERIOD: Record<IndicatorName, number> = {
  rsi: 14,
  macd: 26,
  bollinger: 20,
  ema: 20,
  sma: 20,
  stochastic: 14,
  "williams-r": 14,
  cci: 20,
  adx: 14,
};

/** Appel's MACD(12,26,9); args.ts checks the fast and slow periods' order with these filled in. */
export const MACD_DEFAULTS = { fastPeriod: 12, slowPeriod: 26, signalPeriod: 9 } as const;

export function paramsFrom(args: TechnicalAnalysisArgs): Params {
  return {
    period: args.period ?? DEFAULT_PERIOD[args.indicator],
    fastPeriod: args.fastPeriod ?? MACD_DEFAULTS.fastPeriod,
    slowPeriod: args.slowPeriod ?? MACD_DEFAULTS.slowPeriod,
    signalPeriod: args.signalPeriod ?? MACD_DEFAULTS.signalPeriod,
    stdDev: args.stdDev ?? 2,
    kSmoothing: args.kSmoothing ?? 1,
    dPeriod: args.dPeriod ?? 3,
  };
}
