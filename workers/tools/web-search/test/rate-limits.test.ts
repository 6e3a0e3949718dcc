/**
 * Brave's 429 names no Retry-After: X-RateLimit-Remaining and X-RateLimit-Reset ("per-second, per-month")
 * say which window is spent and when it resets. Read only for Retry-After, every 429 was "retryable, no
 * wait": the dispatcher's retries came within the same second and failed too, and a spent monthly quota
 * was retried, with the model never told when it comes back.
 */
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { defaultTool, expectFail, toolInput } from "../../../../test/support/tools/tool-call.js";
import { spentWindow } from "../src/rate-limit.js";

const tool = defaultTool(exports);
const retryAfterMs = (r: unknown) => (r as { error: { retryAfterMs?: number } }).error.retryAfterMs;
const limits = (remaining: string, reset = "1, 1419704", limit = "1, 2000") =>
  new Headers({ "x-ratelimit-limit": limit, "x-ratelimit-remaining": remaining, "x-ratelimit-reset": reset });

describe("a 429 from Brave", () => {
  it("with its per-second limit spent, is retried after that second", async () => {
    const r = await tool.execute(toolInput({ query: "too many searches" }));
    expect(expectFail(r)).toMatchObject({ code: "rate_limited", retryable: true, message: "Brave rate limit: Request rate limit exceeded for plan.; retry after 1 s" });
    expect(retryAfterMs(r)).toBe(1_000);
  });

  it("with its monthly quota spent, is not retried, and says when the quota comes back", async () => {
    const before = Date.now();
    const r = await tool.execute(toolInput({ query: "monthly quota spent" }));
    const e = expectFail(r);
    expect(e).toMatchObject({ code: "rate_limited", retryable: false });
    expect(retryAfterMs(r)).toBe(1_419_704_000);
    const until = /\(the per-month quota of 2000 searches is spent until (\S+Z)\); retry after 1419704 s$/.exec(e.message);
    expect(until, e.message).not.toBeNull();
    expect(Date.parse(until![1]!) - before).toBeGreaterThanOrEqual(1_419_704_000 - 1_000);
    expect(Date.parse(until![1]!) - before).toBeLessThan(1_419_704_000 + 60_000);
  });
});

describe("spentWindow", () => {
  it("takes the window with nothing remaining, and the later reset when both are spent", () => {
    expect(spentWindow(limits("0, 1927"))).toEqual({ name: "per-second", limit: 1, resetMs: 1_000 });
    expect(spentWindow(limits("1, 0"))).toEqual({ name: "per-month", limit: 2000, resetMs: 1_419_704_000 });
    expect(spentWindow(limits("0, 0"))).toEqual({ name: "per-month", limit: 2000, resetMs: 1_419_704_000 });
  });

  it("finds none when every window has requests left, or the headers are missing or no numbers", () => {
    expect(spentWindow(limits("1, 1927"))).toBeNull();
    expect(spentWindow(new Headers())).toBeNull();
    expect(spentWindow(limits("0, 1927", "soon, 1419704"))).toBeNull();
  });

  it("names a window Brave may add later by its place, and goes without a limit it did not state", () => {
    expect(spentWindow(limits("5, 100, 0", "1, 20, 3600", "1, 2000"))).toEqual({ name: "window 3", resetMs: 3_600_000 });
  });
});
