/**
 * The indicators, computed with `trading-signals` (a maintained, tested library) rather than our own maths.
 * Each definition says what input it needs, how many values make its first meaningful reading, how to
 * name it and how to read its result in words. A reading is a flat record of named numbers.
 */
import {
  BollingerBands,
  CCI,
  MACD,
  RSI,
  SMA,
  StochasticOscillator,
  WilliamsR,
  WSMA,
  type HighLowClose,
} from "trading-signals";
import type { IndicatorName } from "./args.js";
import type { Params } from "./params.js";
import { FlatSafeADX, SmaSeededEMA } from "./steppers.js";

export type Reading = Record<string, number>;

export interface PriceSeries {
  closes: number[];
  /** Present when the source had high and low, not just closes. */
  candles?: HighLowClose<number>[];
}

export interface IndicatorDef {
  needs: "closes" | "candles";
  label(p: Params): string;
  /** Inputs needed before the first reading means anything (the library may answer earlier). */
  minInputs(p: Params): number;
  compute(p: Params, s: PriceSeries): Array<Reading | null>;
  /** The reading in words after the label, e.g. " = 70.46" or ": upper = 1, middle = 0.9, lower = 0.8". */
  state(r: Reading, lastClose: number): string;
}

/** Anything from trading-signals that takes inputs one at a time. */
interface Stepper<In, Out> {
  add(input: In): Out | null;
  readonly isStable: boolean;
}

function walk<In, Out>(ind: Stepper<In, Out>, inputs: In[], read: (out: Out) => Reading): Array<Reading | null> {
  return inputs.map((input) => {
    const out = ind.add(input);
    return out !== null && ind.isStable ? read(out) : null;
  });
}

const zone = (v: number, high: number, low: number) =>
  v >= high ? "overbought" : v <= low ? "oversold" : "neutral";
const side = (close: number, level: number) => (close >= level ? "above" : "below");

export const INDICATOR_DEFS: Record<IndicatorName, IndicatorDef> = {
  rsi: {
    needs: "closes",
    label: (p) => `RSI(${p.period})`,
    minInputs: (p) => p.period + 1,
    compute: (p, s) => undefinedWhere(walk(new RSI(p.period), s.closes, (rsi) => ({ rsi })), noMovement(s.closes, p.period)),
    state: (r) => ` = ${num(r.rsi)} (${zone(r.rsi ?? NaN, 70, 30)})`,
  },
  sma: {
    needs: "closes",
    label: (p) => `SMA(${p.period})`,
    minInputs: (p) => p.period,
    compute: (p, s) => walk(new SMA(p.period), s.closes, (sma) => ({ sma })),
    state: (r, close) => ` = ${num(r.sma)} (last close ${num(close)} is ${side(close, r.sma ?? NaN)} it)`,
  },
  ema: {
    needs: "closes",
    label: (p) => `EMA(${p.period})`,
    minInputs: (p) => p.period,
    compute: (p, s) => walk(new SmaSeededEMA(p.period), s.closes, (ema) => ({ ema })),
    state: (r, close) => ` = ${num(r.ema)} (last close ${num(close)} is ${side(close, r.ema ?? NaN)} it)`,
  },
  macd: {
    needs: "closes",
    label: (p) => `MACD(${p.fastPeriod},${p.slowPeriod},${p.signalPeriod})`,
    // The signal line is an EMA of MACD values, so it needs signalPeriod of them on top of the slow EMA.
    minInputs: (p) => p.slowPeriod + p.signalPeriod - 1,
    compute: (p, s) => {
      const ema = (period: number) => new SmaSeededEMA(period);
      const macd = new MACD(ema(p.fastPeriod), ema(p.slowPeriod), ema(p.signalPeriod));
      return walk(macd, s.closes, (m) => ({ macd: m.macd, signal: m.signal, histogram: m.histogram }));
    },
    state: (r) =>
      `: MACD = ${num(r.macd)}, signal = ${num(r.signal)}, histogram = ${num(r.histogram)} ` +
      `(${(r.histogram ?? 0) >= 0 ? "bullish: MACD above its signal line" : "bearish: MACD below its signal line"})`,
  },
  bollinger: {
    needs: "closes",
    label: (p) => `Bollinger Bands(${p.period}, ${p.stdDev})`,
    minInputs: (p) => p.period,
    compute: (p, s) => walk(new BollingerBands(p.period, p.stdDev), s.closes, (b) => ({ ...b })),
    state: (r, close) =>
      `: upper = ${num(r.upper)}, middle = ${num(r.middle)}, lower = ${num(r.lower)} (last close ${num(close)} ${bandPosition(r, close)})`,
  },
  stochastic: {
    needs: "candles",
    label: (p) => `Stochastic(${p.period},${p.kSmoothing},${p.dPeriod})`,
    minInputs: (p) => p.period + p.kSmoothing + p.dPeriod - 2,
    compute: (p, s) => {
      const stoch = new StochasticOscillator({ kPeriod: p.period, kSlowingPeriod: p.kSmoothing, dPeriod: p.dPeriod });
      const candles = s.candles ?? [];
      // %K averages kSmoothing raw values and %D dPeriod of those: one flat window anywhere in them is a 0/0 in it.
      const flat = within(flatWindows(candles, p.period), p.kSmoothing + p.dPeriod - 1);
      return undefinedWhere(walk(stoch, candles, (o) => ({ k: o.stochK, d: o.stochD })), flat);
    },
    state: (r) => `: %K = ${num(r.k)}, %D = ${num(r.d)} (${zone(r.k ?? NaN, 80, 20)})`,
  },
  "williams-r": {
    needs: "candles",
    label: (p) => `Williams %R(${p.period})`,
    minInputs: (p) => p.period,
    compute: (p, s) => {
      const candles = s.candles ?? [];
      return undefinedWhere(walk(new WilliamsR(p.period), candles, (williamsR) => ({ williamsR })), flatWindows(candles, p.period));
    },
    state: (r) => ` = ${num(r.williamsR)} (${zone(r.williamsR ?? NaN, -20, -80)})`,
  },
  cci: {
    needs: "candles",
    label: (p) => `CCI(${p.period})`,
    minInputs: (p) => p.period,
    compute: (p, s) => walk(new CCI(p.period), s.candles ?? [], (cci) => ({ cci })),
    state: (r) => ` = ${num(r.cci)} (${zone(r.cci ?? NaN, 100, -100)})`,
  },
  adx: {
    needs: "candles",
    label: (p) => `ADX(${p.period})`,
    minInputs: (p) => 2 * p.period,
    compute: (p, s) => {
      const adx = new FlatSafeADX(p.period);
      // +DI and -DI are exposed only for the latest input, so they are read while walking.
      return walk(adx, s.candles ?? [], (v) => ({ adx: v, plusDI: 100 * Number(adx.pdi), minusDI: 100 * Number(adx.mdi) }));
    },
    state: (r) => ` = ${num(r.adx)} (+DI = ${num(r.plusDI)}, -DI = ${num(r.minusDI)}; ${trend(r)})`,
  },
};

/**
 * Readings that divide by zero, made NaN so the tool's defined() check refuses them (undefined_value). The
 * library answers them with a number instead: flat prices read RSI 100 ("overbought"), %K 0 and %R -100
 * ("oversold"), a signal nothing in the prices gave.
 */
function undefinedWhere(readings: Array<Reading | null>, zero: boolean[]): Array<Reading | null> {
  return readings.map((r, i) => (r && zero[i] ? Object.fromEntries(Object.keys(r).map((k) => [k, NaN])) : r));
}

/**
 * Where RSI's average gain + average loss is 0. Their sum is Wilder's average of the absolute changes (both
 * averages are linear and start together), so one WSMA of those tracks it exactly as the library's two do.
 */
function noMovement(closes: number[], period: number): boolean[] {
  const movement = new WSMA(period);
  return closes.map((close, i) => (i === 0 ? false : movement.add(Math.abs(close - closes[i - 1]!)) === 0));
}

/** Whether the `period` candles ending at each index have no high-low range: %K and %R divide by it. */
function flatWindows(candles: HighLowClose<number>[], period: number): boolean[] {
  return candles.map((_, i) => {
    if (i + 1 < period) return false;
    const window = candles.slice(i + 1 - period, i + 1);
    return Math.max(...window.map((c) => c.high)) - Math.min(...window.map((c) => c.low)) === 0;
  });
}

/** Whether any of the `span` flags ending at each index is set. */
function within(flags: boolean[], span: number): boolean[] {
  return flags.map((_, i) => flags.slice(Math.max(0, i + 1 - span), i + 1).some(Boolean));
}

function bandPosition(r: Reading, close: number): string {
  if (close > (r.upper ?? Infinity)) return "is above the upper band";
  if (close < (r.lower ?? -Infinity)) return "is below the lower band";
  return "is inside the bands";
}

function trend(r: Reading): string {
  const adx = r.adx ?? 0;
  if (adx < 20) return "weak or no trend";
  const direction = (r.plusDI ?? 0) >= (r.minusDI ?? 0) ? "up" : "down";
  return `${adx >= 40 ? "strong" : "moderate"} ${direction}trend`;
}

/**
 * Two decimals for ordinary magnitudes (RSI 70.46, BTC 96025.57); four significant digits below 1 so
 * small-cap prices and MACD values on them are not printed as 0.00.
 */
export function num(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return "n/a";
  if (v === 0 || Math.abs(v) >= 1) return v.toFixed(2);
  return v.toPrecision(4);
}
