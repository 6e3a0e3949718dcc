import { describe, expect, it } from "vitest";
import { Logger } from "../../../../lib/log.js";
import { discoverTools } from "../../src/registry/seed.js";
import { baseEnv, chat, completionOf, mockTool, newTenant, OPENAI, scripted, toolCalls, uniq } from "./helpers.js";

const RETRIES = { ...OPENAI, CIO_TOOL_RETRIES: "2" };

describe("which failed tool calls are tried again", () => {
  it("a call whose connection dropped after the tool took it is not repeated, unless the manifest says idempotent", async () => {
    const tenantId = await newTenant();
    const [once, safe] = [uniq("pay"), uniq("read")];
    await mockTool(tenantId, once);
    await mockTool(tenantId, safe, { idempotent: true });
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
    const tenantId = await newTenant();
    const [once, safe] = [uniq("pay"), uniq("read")];
    await mockTool(tenantId, once);
    await mockTool(tenantId, safe, { idempotent: true });
    const [k1, k2, k3] = [uniq("k"), uniq("k"), uniq("k")];
    const calls = [
      { name: once, arguments: { mode: "http", status: 502, key: k1 } },
      { name: safe, arguments: { mode: "http", status: 502, key: k2 } },
      { name: once, arguments: { mode: "http", status: 429, key: k3 } },
    ];
    await chat([scripted("go", [{ tool_calls: calls }, { text: "done" }])], { tenantId, settings: RETRIES });
    expect([await toolCalls(k1), await toolCalls(k2), await toolCalls(k3)]).toEqual([1, 3, 3]);
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
