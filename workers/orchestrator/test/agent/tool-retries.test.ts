import { describe, expect, it } from "vitest";
import { Logger } from "../../../../lib/log.js";
import { discoverTools } from "../../src/registry/seed.js";
import { baseEnv, chat, completionOf, mockTool, newTenant, OPENAI, scripted, toolCalls, uniq } from "./helpers.js";

const RETRIES = { ...OPENAI, CIO_TOOL_RETRIES: "2" };

/** A tenant with a tool whose manifest does not say idempotent (`once`) and one whose does (`safe`). */
async function onceAndSafe(oncePrefix: string, safePrefix: string) {
  const tenantId = await newTenant();
  const [once, safe] = [uniq(oncePrefix), uniq(safePrefix)];
  await mockTool(tenantId, once);
  await mockTool(tenantId, safe, { idempotent: true });
  return { tenantId, once, safe };
}

describe("which failed tool calls are tried again", () => {
  it("a call whose connection dropped after the tool took it is not repeated, unless the manifest says idempotent", async () => {
    const { tenantId, once, safe } = await onceAndSafe("pay", "read");
    const [k1, k2] = [uniq("k"), uniq("k")];
    const reply = completionOf(
      await chat([scripted("go", [{ tool_calls: [{ name: once, arguments: { mode: "drop", key: k1 } }, { name: safe, arguments: { mode: "drop", key: k2, n: 1 } }] }, { text: "done" }])], { tenantId, settings: RETRIES }),
    );
    // The first tool may have run (charged, ordered…): it is called once and the model hears why it failed.
    expect(reply.cio.tools[0]).toMatchObject({ name: once, ok: false, error: { code: "tool_unreachable", message: expect.stringContaining("not retried") } });
    expect(await toolCalls(k1)).toBe(1);
    // The idempotent one is called again, and its second call answers.
    expect(reply.cio.tools[1]).toMatchObject({ name: safe, ok: true });
    expect(await toolCalls(k2)).toBe(2);
  });

  it("an HTTP 5xx is retried only for an idempotent tool; a 429 (the call was not taken) for any", async () => {
    const { tenantId, once, safe } = await onceAndSafe("pay", "read");
    const [k1, k2, k3] = [uniq("k"), uniq("k"), uniq("k")];
    const calls = [
      { name: once, arguments: { mode: "http", status: 502, key: k1 } },
      { name: safe, arguments: { mode: "http", status: 502, key: k2 } },
      { name: once, arguments: { mode: "http", status: 429, key: k3 } },
    ];
    await chat([scripted("go", [{ tool_calls: calls }, { text: "done" }])], { tenantId, settings: RETRIES });
    expect([await toolCalls(k1), await toolCalls(k2), await toolCalls(k3)]).toEqual([1, 3, 3]);
  });

  it("a failure a tool that is not idempotent answered itself is not repeated, retryable or not: the call may have done its (paid) work", async () => {
    const { tenantId, once, safe } = await onceAndSafe("paint", "read");
    const [k1, k2] = [uniq("k"), uniq("k")];
    // What media answered when R2 refused the picture it had just generated (storage_error, retryable).
    const calls = [
      { name: once, arguments: { mode: "fail", code: "storage_error", retryable: true, key: k1 } },
      { name: safe, arguments: { mode: "fail", code: "upstream_unavailable", retryable: true, key: k2 } },
    ];
    const reply = completionOf(await chat([scripted("go", [{ tool_calls: calls }, { text: "done" }])], { tenantId, settings: RETRIES }));
    expect(reply.cio.tools[0]).toMatchObject({ name: once, ok: false, error: { code: "storage_error" } });
    expect([await toolCalls(k1), await toolCalls(k2)]).toEqual([1, 3]);
  });

  it("an HTTP 429 is retried after the Retry-After it names (even for a tool that is not idempotent: the call was not taken)", async () => {
    const tenantId = await newTenant();
    const name = uniq("busy");
    await mockTool(tenantId, name, { parameters: { type: "object" } });
    const key = uniq("k");
    const settings = { ...OPENAI, CIO_TOOL_RETRIES: "1" };
    const reply = completionOf(await chat([scripted("go", [{ tool_calls: [{ name, arguments: { mode: "http", status: 429, retryAfter: "1", key } }] }, { text: "done" }])], { tenantId, settings }));
    expect(await toolCalls(key)).toBe(2);
    // Retried within milliseconds, the second call only met the same limit.
    expect(reply.cio.tools[0]!.latency_ms).toBeGreaterThanOrEqual(1_000);
    expect(reply.cio.tools[0]).toMatchObject({ ok: false, error: { code: "tool_unavailable", message: expect.stringContaining("retry after 1 s") } });
  });

  it("an HTTP 429 asking for a longer wait than CIO_TOOL_RETRY_MAX_WAIT_MS is not retried: the model hears the wait", async () => {
    const tenantId = await newTenant();
    const name = uniq("busy");
    await mockTool(tenantId, name, { parameters: { type: "object" }, idempotent: true });
    const key = uniq("k");
    const reply = completionOf(await chat([scripted("go", [{ tool_calls: [{ name, arguments: { mode: "http", status: 429, retryAfter: "30", key } }] }, { echoTools: true }])], { tenantId, settings: RETRIES }));
    expect(await toolCalls(key)).toBe(1);
    expect(reply.cio.tools[0]).toMatchObject({ ok: false, error: { code: "tool_unavailable", message: expect.stringContaining("retry after 30 s") } });
    expect(reply.choices[0]!.message.content).toContain("retry after 30 s");
  });

  it("a tool's own wait hint (retryAfterMs beside its error) is waited out, and one past the limit ends the retries", async () => {
    const tenantId = await newTenant();
    const name = uniq("limited");
    await mockTool(tenantId, name, { parameters: { type: "object" }, idempotent: true });
    const [short, long] = [uniq("k"), uniq("k")];
    const settings = { ...OPENAI, CIO_TOOL_RETRIES: "1" };
    const calls = [
      { name, arguments: { mode: "fail", code: "rate_limited", retryable: true, retryAfterMs: 800, key: short } },
      { name, arguments: { mode: "fail", code: "rate_limited", retryable: true, retryAfterMs: 5_000, key: long } },
    ];
    const reply = completionOf(await chat([scripted("go", [{ tool_calls: calls }, { text: "done" }])], { tenantId, settings }));
    expect([await toolCalls(short), await toolCalls(long)]).toEqual([2, 1]);
    expect(reply.cio.tools[0]!.latency_ms).toBeGreaterThanOrEqual(800);
  });

  it("a tool's own deadline_exceeded is final, like our timeout: the slow tool is not given a fresh budget", async () => {
    const tenantId = await newTenant();
    const name = uniq("slow");
    await mockTool(tenantId, name, { idempotent: true });
    const key = uniq("k");
    // What a tool Worker answers when its deadline passes just before our timer fires (retryable: true).
    const reply = completionOf(await chat([scripted("go", [{ tool_calls: [{ name, arguments: { mode: "fail", code: "deadline_exceeded", retryable: true, key } }] }, { text: "done" }])], { tenantId, settings: RETRIES }));
    expect(reply.cio.tools[0]).toMatchObject({ ok: false, error: { code: "deadline_exceeded" } });
    expect(await toolCalls(key)).toBe(1);
  });

  it("our read-only tools are seeded as idempotent; analyze_file (it starts a task per call) is not", async () => {
    const tools = await discoverTools(baseEnv, new Logger({ component: "test" }, "error"));
    const idempotent = Object.fromEntries(tools.map((t) => [t.name, t.manifest.idempotent]));
    expect(idempotent).toMatchObject({ "market-data": true, "web-search": true, "http-json": true, "technical-analysis": true, sql: true, analyze_file: false });
  });
});
