import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { defaultTool, expectFail, expectOk, toolInput, validManifest } from "../../../../test/support/tools/tool-call.js";
import { flatCandles, risingCandles, syntheticCandles, WILDER_CLOSES } from "./reference.js";

const tool = defaultTool(exports);
const CANDLES = syntheticCandles(60);

describe("manifest", () => {
  it("names every indicator in its schema and gives plain-language examples", async () => {
    const m = await validManifest(tool);
    expect(m.name).toBe("technical-analysis");
    expect(m.parameters).toMatchObject({ type: "object", required: ["indicator"], additionalProperties: false });
    const props = m.parameters.properties as Record<string, { enum?: string[] }>;
    expect(props.indicator?.enum).toEqual(["rsi", "macd", "bollinger", "ema", "sma", "stochastic", "williams-r", "cci", "adx"]);
    expect(m.examples?.some((e) => e.includes("RSI(14)"))).toBe(true);
  });
});

describe("inline prices", () => {
  it("states the RSI number first", async () => {
    const r = expectOk(await tool.execute(toolInput({ indicator: "rsi", period: 14, closes: WILDER_CLOSES.slice(0, 15) })));
    expect(r.content).toBe("RSI(14) = 70.46 (overbought), computed over 15 closes.");
    expect(r.data).toMatchObject({ indicator: "rsi", inputs: 15, source: { kind: "closes" } });
  });

  it("defaults the period and returns the latest readings as a short series", async () => {
    const r = expectOk(await tool.execute(toolInput({ indicator: "rsi", closes: WILDER_CLOSES })));
    const data = r.data as { params: { period: number }; series: Array<{ rsi: number } | null>; value: { rsi: number } };
    expect(data.params.period).toBe(14);
    expect(data.series).toHaveLength(10);
    expect(data.value.rsi).toBeCloseTo(37.113, 3);
    expect(r.content).toMatch(/^RSI\(14\) = 37\.11 \(neutral\)/);
  });

  it("accepts candles with extra fields, as market-data returns them", async () => {
    const candles = CANDLES.map((c, i) => ({ ...c, openTime: i * 60_000, trades: 7 }));
    expectOk(await tool.execute(toolInput({ indicator: "cci", candles })));
  });

  it.each([
    ["macd", /^MACD\(12,26,9\): MACD = -?[\d.]+, signal = -?[\d.]+, histogram = -?[\d.]+ \((bullish|bearish)/],
    ["bollinger", /^Bollinger Bands\(20, 2\): upper = [\d.]+, middle = [\d.]+, lower = [\d.]+ \(last close/],
    ["ema", /^EMA\(20\) = [\d.]+ \(last close [\d.]+ is (above|below) it\)/],
    ["sma", /^SMA\(20\) = [\d.]+/],
    ["stochastic", /^Stochastic\(14,1,3\): %K = [\d.]+, %D = [\d.]+ \((overbought|oversold|neutral)\)/],
    ["williams-r", /^Williams %R\(14\) = -[\d.]+/],
    ["cci", /^CCI\(20\) = -?[\d.]+/],
    ["adx", /^ADX\(14\) = [\d.]+ \(\+DI = [\d.]+, -DI = [\d.]+; /],
  ])("answers %s over candles", async (indicator, pattern) => {
    const r = expectOk(await tool.execute(toolInput({ indicator, candles: CANDLES })));
    expect(r.content).toMatch(pattern);
    expect(r.content).toContain("computed over 60 candles.");
  });
});

describe("argument validation", () => {
  it.each([
    [{ closes: [1, 2, 3] }, "indicator"],
    [{ indicator: "vwap", closes: [1, 2, 3] }, "indicator"],
    [{ indicator: "rsi" }, "exactly one of closes, candles or symbol"],
    [{ indicator: "rsi", closes: [1, 2], symbol: "BTCUSDT" }, "exactly one"],
    [{ indicator: "rsi", closes: ["44.3"] }, "closes"],
    [{ indicator: "rsi", period: 1, closes: [1, 2] }, "period"],
    [{ indicator: "macd", fastPeriod: 30, slowPeriod: 26, closes: [1] }, "fastPeriod must be below slowPeriod"],
    [{ indicator: "macd", fastPeriod: 30, closes: [1] }, "fastPeriod must be below slowPeriod (got 30 and 26"],
    [{ indicator: "macd", slowPeriod: 10, closes: [1] }, "fastPeriod must be below slowPeriod (got 12 and 10"],
    [{ indicator: "rsi", closes: [1], foo: 1 }, "foo"],
  ])("rejects %j", async (args, message) => {
    const e = expectFail(await tool.execute(toolInput(args)));
    expect(e).toMatchObject({ code: "invalid_arguments", retryable: false });
    expect(e.message).toContain(message);
  });

  it("checks MACD's periods only for MACD: another indicator ignores them", async () => {
    const r = expectOk(await tool.execute(toolInput({ indicator: "rsi", closes: WILDER_CLOSES, slowPeriod: 10 })));
    expect(r.content).toMatch(/^RSI\(14\) = 37\.11/);
  });

  it("asks for candles when an indicator needs highs and lows", async () => {
    const e = expectFail(await tool.execute(toolInput({ indicator: "adx", closes: WILDER_CLOSES })));
    expect(e).toMatchObject({ code: "needs_candles", retryable: false });
  });

  it("says how many prices are needed when too few are given", async () => {
    const e = expectFail(await tool.execute(toolInput({ indicator: "rsi", closes: WILDER_CLOSES.slice(0, 14) })));
    expect(e).toMatchObject({ code: "insufficient_data", message: "RSI(14) needs at least 15 prices; got 14" });
  });

  it("does not report MACD before its signal line has enough values", async () => {
    const e = expectFail(await tool.execute(toolInput({ indicator: "macd", closes: WILDER_CLOSES })));
    expect(e.message).toBe("MACD(12,26,9) needs at least 34 prices; got 32");
  });
});

describe("prices that do not move", () => {
  it("reads ADX over flat candles as no trend (0), not as a NaN trend", async () => {
    const r = expectOk(await tool.execute(toolInput({ indicator: "adx", candles: flatCandles(40) })));
    expect(r.content).toBe("ADX(14) = 0.00 (+DI = 0.00, -DI = 0.00; weak or no trend), computed over 40 candles.");
    expect(r.data).toMatchObject({ value: { adx: 0, plusDI: 0, minusDI: 0 } });
  });

  it("reads the trend that follows a flat stretch", async () => {
    const candles = [...flatCandles(16), ...risingCandles(60)];
    const r = expectOk(await tool.execute(toolInput({ indicator: "adx", candles })));
    expect(r.content).toMatch(/^ADX\(14\) = \d+\.\d\d \(\+DI = [\d.]+, -DI = [\d.]+; strong uptrend\)/);
    expect(Number.isFinite((r.data as { value: { adx: number } }).value.adx)).toBe(true);
  });

  // The library reads flat prices as RSI 100 "overbought", %K 0 and %R -100 "oversold": a signal nothing gave.
  it.each([
    ["rsi", { closes: Array.from({ length: 30 }, () => 100) }, /^RSI\(14\) is undefined/],
    ["stochastic", { candles: flatCandles(40) }, /^Stochastic\(14,1,3\) is undefined/],
    ["williams-r", { candles: flatCandles(40) }, /^Williams %R\(14\) is undefined/],
  ])("fails %s over flat prices (a 0/0) instead of reading a zone", async (indicator, prices, message) => {
    const e = expectFail(await tool.execute(toolInput({ indicator, ...prices })));
    expect(e).toMatchObject({ code: "undefined_value", retryable: false });
    expect(e.message).toMatch(message);
  });

  it("reads the oscillators again once prices move after a flat stretch", async () => {
    const candles = [...flatCandles(20), ...risingCandles(20)];
    expectOk(await tool.execute(toolInput({ indicator: "williams-r", candles })));
    expectOk(await tool.execute(toolInput({ indicator: "stochastic", candles })));
    expectOk(await tool.execute(toolInput({ indicator: "rsi", closes: candles.map((c) => c.close) })));
  });

  it("fails a CCI that divides by a zero deviation instead of answering n/a", async () => {
    const e = expectFail(await tool.execute(toolInput({ indicator: "cci", candles: flatCandles(40) })));
    expect(e).toMatchObject({ code: "undefined_value", retryable: false });
    expect(e.message).toMatch(/^CCI\(20\) is undefined for the latest prices/);
  });
});
