/** The library's numbers against textbook definitions and published reference values. */
import { describe, expect, it } from "vitest";
import { INDICATOR_DEFS, num, type Reading } from "../src/indicators.js";
import { paramsFrom } from "../src/params.js";
import type { TechnicalAnalysisArgs } from "../src/args.js";
import * as ref from "./reference.js";

const { WILDER_CLOSES } = ref;
const CANDLES = ref.syntheticCandles(300);
const CLOSES = CANDLES.map((c) => c.close);

function readings(args: Partial<TechnicalAnalysisArgs> & Pick<TechnicalAnalysisArgs, "indicator">, closes = CLOSES) {
  const full = { closes, ...args } as TechnicalAnalysisArgs;
  return INDICATOR_DEFS[args.indicator].compute(paramsFrom(full), { closes, candles: CANDLES });
}
const last = (rs: Array<Reading | null>) => rs.at(-1) ?? {};
const adxOver = (candles: ref.Hlc[]) =>
  INDICATOR_DEFS.adx.compute(paramsFrom({ indicator: "adx" } as TechnicalAnalysisArgs), { closes: candles.map((c) => c.close), candles });

describe("RSI (Wilder smoothing)", () => {
  it("gives 70.46 at the 15th close of Wilder's example", () => {
    const rs = readings({ indicator: "rsi" }, WILDER_CLOSES);
    expect(rs.slice(0, 14).every((r) => r === null)).toBe(true);
    expect(rs[14]?.rsi).toBeCloseTo(70.4641, 4);
    expect(rs[15]?.rsi).toBeCloseTo(66.2496, 4);
    expect(num(rs[14]?.rsi)).toBe("70.46");
  });

  it("matches the textbook definition over the whole series", () => {
    const expected = ref.rsi(WILDER_CLOSES, 14);
    readings({ indicator: "rsi" }, WILDER_CLOSES).forEach((r, i) => {
      if (r) expect(r.rsi).toBeCloseTo(expected[i] ?? NaN, 9);
    });
  });
});

describe("moving averages", () => {
  it("SMA(5) of 1..10 is 8", () => {
    const closes = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    expect(last(readings({ indicator: "sma", period: 5 }, closes)).sma).toBe(8);
  });

  it("EMA(20) of 1..20 is their SMA, 10.5: the EMA is seeded with the SMA, not the first price", () => {
    const closes = Array.from({ length: 20 }, (_, i) => i + 1);
    expect(last(readings({ indicator: "ema", period: 20 }, closes)).ema).toBeCloseTo(10.5, 12);
  });

  it("EMA matches the SMA-seeded textbook EMA from its first reading on", () => {
    const expected = ref.ema(CLOSES, 20, "sma");
    const rs = readings({ indicator: "ema", period: 20 });
    rs.slice(19).forEach((r, i) => expect(r?.ema).toBeCloseTo(expected[i + 19] ?? NaN, 9));
  });

  it("hides EMA values before `period` prices", () => {
    const rs = readings({ indicator: "ema", period: 20 });
    expect(rs[18]).toBeNull();
    expect(rs[19]).not.toBeNull();
  });
});

describe("MACD(12,26,9)", () => {
  it("is EMA12 - EMA26 with a 9-period EMA signal line", () => {
    const macdLine = ref.ema(CLOSES, 12, "sma").map((f, i) => f - (ref.ema(CLOSES, 26, "sma")[i] ?? NaN));
    const signal = ref.ema(macdLine.slice(25), 9, "sma").at(-1) ?? NaN;
    const r = last(readings({ indicator: "macd" }));
    expect(r.macd).toBeCloseTo(macdLine.at(-1) ?? NaN, 6);
    expect(r.signal).toBeCloseTo(signal, 6);
    expect(r.histogram).toBeCloseTo((r.macd ?? NaN) - (r.signal ?? NaN), 12);
  });

  it("matches the SMA-seeded textbook MACD at its first reading, the 34th close", () => {
    const macdLine = ref.ema(CLOSES, 12, "sma").map((f, i) => f - (ref.ema(CLOSES, 26, "sma")[i] ?? NaN));
    const signal = ref.ema(macdLine.slice(25), 9, "sma");
    const first = readings({ indicator: "macd" })[33];
    expect(first?.macd).toBeCloseTo(macdLine[33] ?? NaN, 9);
    expect(first?.signal).toBeCloseTo(signal[8] ?? NaN, 9);
  });
});

describe("Bollinger Bands", () => {
  it("use the population standard deviation: (20, 2) on 1..5 with period 5", () => {
    const r = last(readings({ indicator: "bollinger", period: 5 }, [1, 2, 3, 4, 5]));
    expect(r.middle).toBe(3);
    expect(r.upper).toBeCloseTo(3 + 2 * Math.SQRT2, 12);
    expect(r.lower).toBeCloseTo(3 - 2 * Math.SQRT2, 12);
  });

  it("match SMA ± k·σ on a long series", () => {
    const w = CLOSES.slice(-20);
    const m = ref.mean(w);
    const sd = Math.sqrt(ref.mean(w.map((x) => (x - m) ** 2)));
    const r = last(readings({ indicator: "bollinger", stdDev: 2.5 }));
    expect(r.upper).toBeCloseTo(m + 2.5 * sd, 9);
  });
});

describe("high-low-close oscillators", () => {
  it("Stochastic %K (no smoothing) and %D = SMA3 of %K", () => {
    const r = last(readings({ indicator: "stochastic" }));
    const ks = [2, 1, 0].map((back) => ref.fastK(CANDLES.slice(0, CANDLES.length - back), 14));
    expect(r.k).toBeCloseTo(ks[2] ?? NaN, 9);
    expect(r.d).toBeCloseTo(ref.mean(ks), 9);
  });

  it("Williams %R", () => {
    expect(last(readings({ indicator: "williams-r" })).williamsR).toBeCloseTo(ref.williamsR(CANDLES, 14), 9);
  });

  it("CCI with Lambert's 0.015 constant", () => {
    expect(last(readings({ indicator: "cci" })).cci).toBeCloseTo(ref.cci(CANDLES, 20), 9);
  });

  it("ADX of candles that never move is 0, not NaN: no movement is no directional movement", () => {
    expect(last(adxOver(ref.flatCandles(40)))).toEqual({ adx: 0, plusDI: 0, minusDI: 0 });
  });

  it("ADX recovers when flat candles start to trend (a NaN DX used to stay in its average)", () => {
    const r = last(adxOver([...ref.flatCandles(16), ...ref.risingCandles(60)]));
    expect(r.adx).toBeGreaterThan(40);
    expect(r.plusDI).toBeGreaterThan(r.minusDI ?? Infinity);
  });

  it("ADX converges on Wilder's textbook ADX (the library starts one candle earlier)", () => {
    const r = last(readings({ indicator: "adx" }));
    expect(r.adx).toBeCloseTo(ref.adx(CANDLES, 14), 2);
    expect(r.plusDI).toBeGreaterThan(0);
    expect(r.minusDI).toBeGreaterThan(0);
  });
});

describe("number formatting", () => {
  it.each([
    [70.4641, "70.46"],
    [-23.5, "-23.50"],
    [96025.571, "96025.57"],
    [0.0000123456, "0.00001235"],
    [0, "0.00"],
    [Number.NaN, "n/a"],
  ])("%d → %s", (v, s) => expect(num(v)).toBe(s));
});
