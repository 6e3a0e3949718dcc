import { createExecutionContext, env } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { defaultTool, expectFail, expectOk, toolInput, validManifest } from "../../../../test/support/tools/tool-call.js";
import WebSearchTool from "../src/index.js";
import type { Env } from "../src/settings.js";

const tool = defaultTool(exports);

/** The tool with a different environment, e.g. without its secret (the binding's env is fixed). */
const toolWith = (overrides: Partial<Env>) =>
  new WebSearchTool(createExecutionContext(), { ...(env as Env), ...overrides });

describe("manifest", () => {
  it("requires only the query", async () => {
    const m = await validManifest(tool);
    expect(m.name).toBe("web-search");
    expect(m.parameters).toMatchObject({ type: "object", required: ["query"] });
  });
});

describe("search", () => {
  it("returns titles, URLs and plain-text snippets from Brave's payload", async () => {
    const r = expectOk(await tool.execute(toolInput({ query: "cloudflare durable objects alarms", count: 3 })));
    expect(r.content).toBe(
      [
        'Top 3 web results for "cloudflare durable objects alarms":',
        "1. Alarms · Cloudflare Durable Objects docs (October 2, 2026)",
        "   https://developers.cloudflare.com/durable-objects/api/alarms/",
        "   Durable Objects alarms allow you to schedule the Durable Object to be woken up at a time in the future. " +
          "When the alarm's scheduled time comes, the alarm() handler method will be called.",
        "2. Durable Objects: Easy, Fast, Correct — Choose three (November 18, 2021)",
        "   https://blog.cloudflare.com/durable-objects-easy-fast-correct-choose-three/",
        "   Input gates, output gates and alarms: how Durable Objects make it easy to write correct code & why you rarely need locks.",
        "3. How to use alarms in Durable Objects? - Stack Overflow",
        "   https://stackoverflow.com/questions/71843212/how-to-use-alarms-in-durable-objects",
        "   Call storage.setAlarm() with a timestamp; only one alarm per object can be set at a time.",
      ].join("\n"),
    );
    const data = r.data as { results: { url: string }[] };
    expect(data.results.map((h) => h.url)).toHaveLength(3);
  });

  it("says so when there are no results", async () => {
    const r = expectOk(await tool.execute(toolInput({ query: "zzqxj vnwkpl no such thing" })));
    expect(r.content).toBe('No web results for "zzqxj vnwkpl no such thing".');
  });
});

describe("argument validation", () => {
  it.each([
    [{}, "query"],
    [{ query: "   " }, "query"],
    [{ query: "x", count: 50 }, "count"],
    [{ query: "x", freshness: "yesterday" }, "freshness"],
    [{ query: "x", country: "Germany" }, "country"],
  ])("rejects %j", async (args, field) => {
    const e = expectFail(await tool.execute(toolInput(args)));
    expect(e).toMatchObject({ code: "invalid_arguments", retryable: false });
    expect(e.message).toContain(field);
  });
});

describe("configuration and upstream failures", () => {
  it("fails clearly, without calling Brave, when the key is missing", async () => {
    const e = expectFail(await toolWith({ BRAVE_API_KEY: "" }).execute(toolInput({ query: "anything" })));
    expect(e).toMatchObject({ code: "not_configured", retryable: false });
    expect(e.message).toContain("BRAVE_API_KEY");
  });

  it("maps Brave's invalid-token answer to a non-retryable error", async () => {
    const e = expectFail(await toolWith({ BRAVE_API_KEY: "wrong" }).execute(toolInput({ query: "anything" })));
    expect(e).toMatchObject({ code: "unauthorized", retryable: false });
    expect(e.message).toContain("The provided subscription token is invalid.");
  });

  // A 429 with only Brave's X-RateLimit-* headers (its usual one): rate-limits.test.ts.
  it("passes on a short Retry-After as a retryable rate limit with the wait, for the dispatcher to wait out", async () => {
    const r = await tool.execute(toolInput({ query: "too many searches this second" }));
    const e = expectFail(r);
    expect(e).toMatchObject({ code: "rate_limited", retryable: true, message: "Brave rate limit: Request rate limit exceeded for plan.; retry after 1 s" });
    expect((r as { error: { retryAfterMs?: number } }).error.retryAfterMs).toBe(1000);
  });

  it("does not mark a 429 retryable when its Retry-After is too long to wait for within the answer", async () => {
    const e = expectFail(await tool.execute(toolInput({ query: "too many searches this month" })));
    expect(e).toMatchObject({ code: "rate_limited", retryable: false });
    expect(e.message).toContain("retry after 1419704 s");
  });

  it("maps a 422 validation error to a non-retryable bad request", async () => {
    const e = expectFail(await tool.execute(toolInput({ query: "x", country: "ZZ" })));
    expect(e).toMatchObject({ code: "bad_request", retryable: false });
  });

  it("maps a 502 HTML page to a retryable outage", async () => {
    const e = expectFail(await tool.execute(toolInput({ query: "brave is down" })));
    expect(e).toMatchObject({ code: "upstream_unavailable", retryable: true });
  });

  it("cuts off a slow search at the deadline", async () => {
    const e = expectFail(await tool.execute(toolInput({ query: "slow search" }, 300)));
    expect(e).toMatchObject({ code: "deadline_exceeded", retryable: true });
  });
});
