/**
 * Textbook definitions, written out plainly and independently of trading-signals, to check the library's
 * numbers (Wilder 1978 for RSI and ADX, Lambert 1980 for CCI, Lane for %K, Williams for %R).
 */
export interface Hlc {
  high: number;
  low: number;
  close: number;
}

export const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

export function smaAt(xs: number[], period: number, end: number): number {
  return mean(xs.slice(end - period + 1, end + 1));
}

/** EMA seeded either with the first price (as trading-signals does) or with the first SMA (StockCharts). */
export function ema(xs: number[], period: number, seed: "first" | "sma"): number[] {
  const k = 2 / (period + 1);
  const out: number[] = [];
  const start = seed === "sma" ? period - 1 : 0;
  let value = seed === "sma" ? smaAt(xs, period, period - 1) : (xs[0] ?? NaN);
  xs.forEach((x, i) => {
    if (i > start) value = x * k + value * (1 - k);
    out.push(i >= start ? value : NaN);
  });
  return out;
}

/** Wilder's smoothing: the first value is a plain average, then prev + (x - prev) / n. */
function wilder(xs: number[], n: number): number[] {
  const out: number[] = [];
  let value = NaN;
  xs.forEach((x, i) => {
    if (i === n - 1) value = mean(xs.slice(0, n));
    else if (i >= n) value = value + (x - value) / n;
    out.push(value);
  });
  return out;
}

export function rsi(closes: number[], n: number): number[] {
  const changes = closes.slice(1).map((c, i) => c - (closes[i] ?? c));
  const gains = wilder(changes.map((d) => Math.max(d, 0)), n);
  const losses = wilder(changes.map((d) => Math.max(-d, 0)), n);
  return [NaN, ...gains.map((g, i) => 100 - 100 / (1 + g / (losses[i] ?? NaN)))];
}

export function cci(candles: Hlc[], n: number): number {
  const tp = candles.map((c) => (c.high + c.low + c.close) / 3).slice(-n);
  const m = mean(tp);
  const meanDeviation = mean(tp.map((t) => Math.abs(t - m)));
  return ((tp.at(-1) ?? NaN) - m) / (0.015 * meanDeviation);
}

export function fastK(candles: Hlc[], n: number): number {
  const w = candles.slice(-n);
  const hh = Math.max(...w.map((c) => c.high));
  const ll = Math.min(...w.map((c) => c.low));
  return (100 * ((w.at(-1)?.close ?? NaN) - ll)) / (hh - ll);
}

export function williamsR(candles: Hlc[], n: number): number {
  const w = candles.slice(-n);
  const hh = Math.max(...w.map((c) => c.high));
  const ll = Math.min(...w.map((c) => c.low));
  return (-100 * (hh - (w.at(-1)?.close ?? NaN))) / (hh - ll);
}

/** Wilder's ADX from the second candle on: TR, +DM, -DM smoothed, DX, then DX smoothed. */
export function adx(candles: Hlc[], n: number): number {
  const tr: number[] = [];
  const pdm: number[] = [];
  const mdm: number[] = [];
  for (let i = 1; i < candles.length; i++) {
    const c = candles[i] as Hlc;
    const p = candles[i - 1] as Hlc;
    const up = c.high - p.high;
    const down = p.low - c.low;
    tr.push(Math.max(c.high - c.low, Math.abs(c.high - p.close), Math.abs(c.low - p.close)));
    pdm.push(up > down && up > 0 ? up : 0);
    mdm.push(down > up && down > 0 ? down : 0);
  }
  const [atr, sp, sm] = [wilder(tr, n), wilder(pdm, n), wilder(mdm, n)];
  const dx = atr.map((a, i) => {
    const [pdi, mdi] = [(sp[i] ?? NaN) / a, (sm[i] ?? NaN) / a];
    return (100 * Math.abs(pdi - mdi)) / (pdi + mdi);
  });
  const adxSeries = wilder(dx.slice(n - 1), n);
  return adxSeries.at(-1) ?? NaN;
}

/** A deterministic, trending and noisy OHLC series (a small LCG, so every run sees the same prices). */
export function syntheticCandles(count: number): Hlc[] {
  let seed = 42;
  const rand = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648);
  const out: Hlc[] = [];
  let close = 100;
  for (let i = 0; i < count; i++) {
    const open = close;
    close = open + Math.sin(i / 9) * 0.8 + (rand() - 0.5) * 2;
    out.push({ high: Math.max(open, close) + rand(), low: Math.min(open, close) - rand(), close });
  }
  return out;
}

/** Candles that do not move at all: high = low = close, so every range, TR and deviation is 0. */
export const flatCandles = (count: number, price = 100): Hlc[] =>
  Array.from({ length: count }, () => ({ high: price, low: price, close: price }));

/** A steady uptrend from just above `from`: each candle one higher, with a range of 1. */
export const risingCandles = (count: number, from = 100): Hlc[] =>
  Array.from({ length: count }, (_, i) => ({ high: from + i + 1.5, low: from + i + 0.5, close: from + i + 1 }));

/** Wilder's own RSI example (New Concepts in Technical Trading Systems), as republished by StockCharts. */
export const WILDER_CLOSES = [
  44.34, 44.09, 44.15, 43.61, 44.33, 44.83, 45.1, 45.42, 45.84, 46.08, 45.89, 46.03, 45.61, 46.28, 46.28, 46.0,
  46.03, 46.41, 46.22, 45.64, 46.21, 46.25, 45.71, 46.45, 45.78, 45.35, 44.03, 44.17, 43.95, 43.13, 42.66, 43.13,
];
