/** Prices fetched by symbol through the real market-data Worker (MARKET_DATA), Binance replayed locally. */
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { defaultTool, expectFail, expectOk, toolInput } from "../../../../test/support/tools/tool-call.js";

const tool = defaultTool(exports);

describe("symbol and interval through market-data", () => {
  it("computes RSI over Binance klines", async () => {
    const r = expectOk(await tool.execute(toolInput({ indicator: "rsi", symbol: "wldr/usdt", interval: "1d" })));
    expect(r.content).toBe("RSI(14) = 37.11 (neutral), computed over the last 32 1d candles of WLDRUSDT.");
    expect(r.data).toMatchObject({ source: { kind: "market-data", symbol: "WLDRUSDT", interval: "1d" }, inputs: 32 });
  });

  it("uses highs and lows from the klines for candle indicators", async () => {
    const r = expectOk(await tool.execute(toolInput({ indicator: "williams-r", symbol: "WLDRUSDT", interval: "1d" })));
    expect(r.content).toMatch(/^Williams %R\(14\) = -[\d.]+ \(oversold\)/);
  });

  it("passes on market-data's non-retryable failure", async () => {
    const e = expectFail(await tool.execute(toolInput({ indicator: "rsi", symbol: "NOPEUSDT" })));
    expect(e).toMatchObject({ code: "unknown_symbol", retryable: false });
    expect(e.message).toMatch(/^market-data: /);
  });

  it("passes on market-data's retryable failure", async () => {
    const e = expectFail(await tool.execute(toolInput({ indicator: "rsi", symbol: "DOWNUSDT" })));
    expect(e).toMatchObject({ code: "upstream_unavailable", retryable: true });
  });

  it("gives up at the caller's deadline when the upstream is slow", async () => {
    const started = Date.now();
    const e = expectFail(await tool.execute(toolInput({ indicator: "rsi", symbol: "SLOWUSDT" }, 300)));
    expect(e).toMatchObject({ code: "deadline_exceeded", retryable: true });
    expect(Date.now() - started).toBeLessThan(2_500);
  });

  // Last: market-data then keeps its isolate off Binance for those 5 s, whatever the symbol.
  it("passes on a rate limit as not retryable, with its Retry-After, and is answered so until the wait has passed", async () => {
    const r = await tool.execute(toolInput({ indicator: "rsi", symbol: "LIMITEDUSDT" }));
    expect(expectFail(r)).toMatchObject({ code: "rate_limited", retryable: false, message: expect.stringContaining("retry after 5 s") });
    expect((r as { error: { retryAfterMs?: number } }).error.retryAfterMs).toBe(5_000);
    const next = expectFail(await tool.execute(toolInput({ indicator: "rsi", symbol: "WLDRUSDT", interval: "1d" })));
    expect(next).toMatchObject({ code: "rate_limited", message: expect.stringContaining("(Binance is not called again until then)") });
  });
});
