/**
 * After Binance's 429 or 418 with Retry-After, no call goes back to Binance until the wait has passed:
 * Binance bans an IP that keeps calling after 429s, and the next call (another tenant, technical-analysis,
 * the trading cron) may come a moment later.
 */
import { exports } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { defaultTool, expectFail, expectOk, toolInput } from "../../../../test/support/tools/tool-call.js";
import { binanceHold, RateLimitHold } from "../src/rate-limit-hold.js";

const tool = defaultTool(exports);
const retryAfterMs = (r: unknown) => (r as { error: { retryAfterMs?: number } }).error.retryAfterMs;

afterEach(() => {
  vi.restoreAllMocks();
  binanceHold.clear();
});

describe("the market-data tool after a rate limit", () => {
  it("does not call Binance again within the Retry-After of a 429, for any symbol or kind", async () => {
    const fetch = vi.spyOn(globalThis, "fetch").mockImplementation(async () =>
      Response.json({ code: -1003, msg: "Too many requests; current limit of IP(203.0.113.7) is 6000 requests per minute." }, { status: 429, headers: { "retry-after": "60" } }),
    );
    const first = await tool.execute(toolInput({ symbol: "BTCUSDT" }));
    expect(expectFail(first)).toMatchObject({ code: "rate_limited", retryable: false, message: expect.stringMatching(/; retry after 60 s$/) });
    expect(retryAfterMs(first)).toBe(60_000);
    const next = await tool.execute(toolInput({ symbol: "ETHUSDT", kind: "klines" }));
    expect(expectFail(next)).toMatchObject({
      code: "rate_limited",
      retryable: false,
      message: "Binance rate limit: Too many requests; current limit of IP(203.0.113.7) is 6000 requests per minute. (code -1003); retry after 60 s (Binance is not called again until then)",
    });
    expect(retryAfterMs(next)).toBeGreaterThan(0);
    expect(retryAfterMs(next)).toBeLessThanOrEqual(60_000);
    expect(fetch).toHaveBeenCalledTimes(1);
  });

  it("keeps off Binance for the length of a 418 ban, saying it is a ban", async () => {
    const fetch = vi.spyOn(globalThis, "fetch");
    expectFail(await tool.execute(toolInput({ symbol: "BANNEDUSDT" })));
    const e = expectFail(await tool.execute(toolInput({ symbol: "BTCUSDT" })));
    expect(e.message).toMatch(/^Binance has banned this IP for exceeding its rate limit: Way too many requests; .*; retry after 120 s \(Binance is not called again until then\)$/);
    expect(fetch).toHaveBeenCalledTimes(1);
  });

  it("calls Binance as before once the wait has passed", async () => {
    expectFail(await tool.execute(toolInput({ symbol: "LIMITEDUSDT" })));
    binanceHold.clear(); // as the 12 s passing would
    expectOk(await tool.execute(toolInput({ symbol: "BTCUSDT" })));
  });
});

describe("RateLimitHold", () => {
  it("refuses with the wait left until it has passed", () => {
    let now = 1_000_000;
    const hold = new RateLimitHold(() => now);
    expect(hold.refusal()).toBeNull();
    hold.hold(10_000, "Binance rate limit: slow down");
    now += 2_500;
    const refused = hold.refusal();
    expect(refused).toMatchObject({ code: "rate_limited", retryable: false, retryAfterMs: 7_500 });
    expect(refused?.message).toBe("Binance rate limit: slow down; retry after 8 s (Binance is not called again until then)");
    now += 7_500;
    expect(hold.refusal()).toBeNull();
  });

  it("keeps the later of two waits, and what Binance said with it", () => {
    let now = 0;
    const hold = new RateLimitHold(() => now);
    hold.hold(120_000, "banned");
    hold.hold(5_000, "rate limit");
    now = 60_000;
    expect(hold.refusal()).toMatchObject({ retryAfterMs: 60_000, message: expect.stringMatching(/^banned; /) });
  });
});
