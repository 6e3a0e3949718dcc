import { exports } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { defaultTool, expectFail, expectOk, toolInput, validManifest } from "../../../../test/support/tools/tool-call.js";
import { binanceHold } from "../src/rate-limit-hold.js";

const tool = defaultTool(exports);

// A 429 or 418 keeps the isolate off Binance for its Retry-After (rate-limit-hold.test.ts); each test starts clear.
afterEach(() => binanceHold.clear());

describe("market-data manifest", () => {
  it("describes itself with a JSON Schema and examples", async () => {
    const m = await validManifest(tool);
    expect(m.name).toBe("market-data");
    expect(m.parameters).toMatchObject({ type: "object", required: ["symbol"] });
  });
});

describe("ticker", () => {
  it("answers the 24h ticker from Binance's recorded payload", async () => {
    const r = expectOk(await tool.execute(toolInput({ symbol: "BTCUSDT" })));
    expect(r.content).toBe(
      "BTCUSDT last price 96025.57 (+1.612% over 24 h; high 96480, low 93875.2, volume 18764.52311).",
    );
    expect(r.data).toMatchObject({ kind: "ticker", symbol: "BTCUSDT", lastPrice: 96025.57, trades: 3083376 });
  });

  it("normalises pairs written with a slash or in lower case", async () => {
    const r = expectOk(await tool.execute(toolInput({ kind: "ticker", symbol: "btc/usdt" })));
    expect(r.data).toMatchObject({ symbol: "BTCUSDT" });
  });
});

describe("klines", () => {
  it("parses Binance's array rows into candles", async () => {
    const r = expectOk(await tool.execute(toolInput({ kind: "klines", symbol: "BTCUSDT", interval: "1h", limit: 5 })));
    const data = r.data as { candles: { open: number; high: number; low: number; close: number; volume: number }[] };
    expect(data.candles).toHaveLength(5);
    expect(data.candles[0]).toMatchObject({ open: 95810, high: 96120.45, low: 95702.1, close: 96010.33 });
    expect(data.candles[0]?.volume).toBeCloseTo(412.77301, 8);
    expect(r.content).toBe(
      "BTCUSDT 1h: 5 candles from 2026-11-14T04:00:00.000Z to 2026-11-14T08:59:59.999Z; " +
        "last close 96025.57, range 95702.1–96480.",
    );
  });

  it("takes an interval without a kind to mean klines", async () => {
    const r = expectOk(await tool.execute(toolInput({ symbol: "BTCUSDT", interval: "1h" })));
    expect(r.data).toMatchObject({ kind: "klines", interval: "1h" });
  });

  it("says so when Binance returns no candles", async () => {
    const r = expectOk(await tool.execute(toolInput({ kind: "klines", symbol: "BTCUSDT", interval: "1d" })));
    expect(r.content).toContain("no candles");
  });
});

describe("argument validation", () => {
  it.each([
    [{}, "symbol"],
    [{ symbol: "BTC USDT" }, "symbol"],
    [{ symbol: "BTCUSDT", kind: "orderbook" }, "kind"],
    [{ symbol: "BTCUSDT", kind: "klines", interval: "7m" }, "interval"],
    [{ symbol: "BTCUSDT", kind: "klines", limit: 5000 }, "limit"],
    [{ symbol: "BTCUSDT", extra: 1 }, "extra"],
  ])("rejects %j", async (args, field) => {
    const e = expectFail(await tool.execute(toolInput(args)));
    expect(e).toMatchObject({ code: "invalid_arguments", retryable: false });
    expect(e.message).toContain(field);
  });
});

describe("upstream failures", () => {
  it("maps an unknown symbol (HTTP 400, -1121) to a non-retryable error", async () => {
    const e = expectFail(await tool.execute(toolInput({ symbol: "NOPEUSDT" })));
    expect(e).toMatchObject({ code: "unknown_symbol", retryable: false });
    expect(e.message).toContain("Invalid symbol.");
  });

  it("maps 429 to a rate limit not retried at once, and passes on Retry-After", async () => {
    const e = expectFail(await tool.execute(toolInput({ symbol: "LIMITEDUSDT" })));
    expect(e).toMatchObject({ code: "rate_limited", retryable: false });
    expect(e.message).toContain("retry after 12 s");
  });

  it("maps 418 (IP ban after ignoring 429s) to a non-retryable rate limit that says when it lifts", async () => {
    const e = expectFail(await tool.execute(toolInput({ symbol: "BANNEDUSDT" })));
    expect(e).toMatchObject({ code: "rate_limited", retryable: false });
    expect(e.message).toMatch(/^Binance has banned this IP for exceeding its rate limit: Way too many requests; .*; retry after 120 s$/);
  });

  // Not the caller's mistake (bad_request, which the breaker ignores): the tool cannot work from here at all.
  it.each([
    ["RESTRICTEDUSDT", /^Binance refuses requests from this server's location \(restricted region\): Service unavailable from a restricted location/],
    ["WAFUSDT", /^Binance refuses requests at its firewall or a regional block: HTTP 403/],
  ])("maps %s's block (451, 403) to an error the breaker counts, suggesting data-api.binance.vision", async (symbol, message) => {
    const e = expectFail(await tool.execute(toolInput({ symbol })));
    expect(e).toMatchObject({ code: "not_configured", retryable: false });
    expect(e.message).toMatch(message);
    expect(e.message).toContain("set BINANCE_BASE_URL to https://data-api.binance.vision");
  });

  it("maps 5xx with a non-JSON body to a retryable outage", async () => {
    const e = expectFail(await tool.execute(toolInput({ symbol: "DOWNUSDT" })));
    expect(e).toMatchObject({ code: "upstream_unavailable", retryable: true });
  });
});

describe("deadline", () => {
  it("cuts off a slow upstream when the deadline passes", async () => {
    const started = Date.now();
    const e = expectFail(await tool.execute(toolInput({ symbol: "SLOWUSDT" }, 300)));
    expect(e).toMatchObject({ code: "deadline_exceeded", retryable: true });
    expect(Date.now() - started).toBeLessThan(2_500);
  });

  it("refuses to start after the deadline", async () => {
    const e = expectFail(await tool.execute(toolInput({ symbol: "BTCUSDT" }, -1)));
    expect(e.code).toBe("deadline_exceeded");
  });
});
