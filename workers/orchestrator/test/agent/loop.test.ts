import { describe, expect, it } from "vitest";
import { limiterStub } from "../../../../lib/do-names.js";
import { withDirective } from "../../../../test/mock-upstream/directive.js";
import { eventually } from "../session-fixtures.js";
import { baseEnv, chat, completionOf, mockTool, newTenant, OPENAI, scripted, streamText, toolCalls, uniq, user } from "./helpers.js";

describe("agent loop with a scripted tool-calling model", () => {
  it("runs the tools of one round in parallel and feeds their results back to the model", async () => {
    const tenantId = await newTenant();
    const [a, b] = [uniq("par-a"), uniq("par-b")];
    await mockTool(tenantId, a);
    await mockTool(tenantId, b);
    const key = uniq("barrier");
    // Each call waits at a barrier until the other arrives: run one after the other, both would fail.
    const reply = completionOf(
      await chat([scripted("use both", [{ tool_calls: [{ name: a, arguments: { mode: "barrier", key, n: 2 } }, { name: b, arguments: { mode: "barrier", key, n: 2 } }] }, { echoTools: true }])], { tenantId, settings: OPENAI }),
    );
    expect(reply.cio.tools.map((t) => [t.name, t.ok])).toEqual([[a, true], [b, true]]);
    expect(reply.choices[0]!.message.content).toBe(`${key} met 2 parallel calls | ${key} met 2 parallel calls`);
    expect(reply.cio.steps).toBe(2);
    expect(reply.usage!.total_tokens).toBeGreaterThan(0);
  });

  it("a tool that times out is reported to the model, and the answer names it and goes on", async () => {
    const tenantId = await newTenant();
    const [slow, fast] = [uniq("slow"), uniq("fast")];
    await mockTool(tenantId, slow, { timeoutMs: 150 });
    await mockTool(tenantId, fast);
    const reply = completionOf(
      await chat([scripted("go", [{ tool_calls: [{ name: slow, arguments: { mode: "sleep", ms: 2000 } }, { name: fast, arguments: {} }] }, { echoTools: true }])], { tenantId, settings: OPENAI }),
    );
    const [s, f] = reply.cio.tools;
    expect(s).toMatchObject({ name: slow, ok: false, error: { code: "timeout" } });
    expect(f).toMatchObject({ name: fast, ok: true });
    const text = reply.choices[0]!.message.content!;
    expect(text).toContain(`ERROR: ${slow} failed (timeout)`);
    expect(text).toContain(`echo ${fast}`);
    expect(text).toContain(`Note: the tool ${slow} (timeout) failed, so this answer was given without it.`);
  });

  it("invalid arguments never reach the tool: the validation error goes back to the model", async () => {
    const tenantId = await newTenant();
    const name = uniq("strict");
    const key = uniq("k");
    await mockTool(tenantId, name);
    const reply = completionOf(
      await chat([scripted("go", [{ tool_calls: [{ name, arguments: { mode: 5, key } }] }, { echoTools: true }])], { tenantId, settings: OPENAI }),
    );
    expect(await toolCalls(key)).toBe(0);
    expect(reply.cio.tools[0]).toMatchObject({ name, ok: false, error: { code: "invalid_arguments" } });
    expect(reply.choices[0]!.message.content).toMatch(/ERROR: .* failed \(invalid_arguments\): invalid arguments for .*\/mode/);
  });

  it("arguments that are not JSON are refused the same way", async () => {
    const tenantId = await newTenant();
    const name = uniq("strict");
    await mockTool(tenantId, name);
    const reply = completionOf(await chat([scripted("go", [{ tool_calls: [{ name, arguments: "{not json" }] }, { echoTools: true }])], { tenantId, settings: OPENAI }));
    expect(reply.choices[0]!.message.content).toContain("the arguments are not valid JSON");
  });

  it("retries retryable failures with backoff, and only those", async () => {
    const tenantId = await newTenant();
    const name = uniq("flaky");
    // Idempotent: a tool that may not run twice is not called again on an answer of its own (tool-retries.test.ts).
    await mockTool(tenantId, name, { idempotent: true });
    const [k1, k2] = [uniq("retryable"), uniq("final")];
    await chat([scripted("go", [{ tool_calls: [{ name, arguments: { mode: "fail", retryable: true, key: k1 } }, { name, arguments: { mode: "fail", retryable: false, key: k2 } }] }, { text: "done" }])], {
      tenantId,
      settings: { ...OPENAI, CIO_TOOL_RETRIES: "2" },
    });
    expect(await toolCalls(k1)).toBe(3);
    expect(await toolCalls(k2)).toBe(1);
  });

  it("stops after CIO_MAX_STEPS rounds: the last round offers no tools, so the model must answer", async () => {
    const tenantId = await newTenant();
    const name = uniq("loop");
    await mockTool(tenantId, name);
    const reply = completionOf(await chat([scripted("forever", [{ tool_calls: [{ name, arguments: {} }] }])], { tenantId, settings: { ...OPENAI, CIO_MAX_STEPS: "2" } }));
    expect(reply.cio.steps).toBe(2);
    expect(reply.cio.tools.filter((t) => t.ok)).toHaveLength(1);
    expect(reply.choices[0]!.finish_reason).toBe("length");
  });

  it("a tool granted to another tenant is neither offered nor callable", async () => {
    const [owner, other] = [await newTenant(), await newTenant()];
    const name = uniq("private");
    const key = uniq("k");
    await mockTool(owner, name);
    const reply = completionOf(await chat([scripted("go", [{ tool_calls: [{ name, arguments: { key } }] }, { echoTools: true }])], { tenantId: other, settings: OPENAI }));
    expect(reply.cio.tools[0]).toMatchObject({ name, ok: false, error: { code: "unknown_tool" } });
    expect(await toolCalls(key)).toBe(0);
  });

  it("HTTPS tools are signed: a wrong secret is rejected by the tool service", async () => {
    const tenantId = await newTenant();
    const name = uniq("signed");
    await mockTool(tenantId, name);
    const ok = completionOf(await chat([scripted("go", [{ tool_calls: [{ name, arguments: {} }] }, { echoTools: true }])], { tenantId, settings: OPENAI }));
    expect(ok.cio.tools[0]!.ok).toBe(true);
    const bad = completionOf(await chat([scripted("go", [{ tool_calls: [{ name, arguments: {} }] }, { echoTools: true }])], { tenantId, settings: { ...OPENAI, CIO_TOOL_HMAC_SECRET: "wrong" } }));
    expect(bad.cio.tools[0]).toMatchObject({ ok: false, error: { code: "tool_rejected" } });
    expect(bad.choices[0]!.message.content).toContain("HTTP 401");
  });

  it("streams the final answer token by token with tool activity as comments", async () => {
    const tenantId = await newTenant();
    const name = uniq("s");
    await mockTool(tenantId, name);
    const body = await streamText(await chat([scripted("go", [{ tool_calls: [{ name, arguments: {} }] }, { text: "one two three" }])], { tenantId, settings: OPENAI, body: { stream: true } }));
    expect(body).toContain(`: cio tool ${name} started {}`);
    const chunks = body.split("\n\n").filter((b) => b.startsWith("data: {")).map((b) => JSON.parse(b.slice(6)));
    expect(chunks.map((c) => c.choices[0]?.delta?.content).filter(Boolean)).toEqual(["one ", "two ", "three"]);
    expect(chunks.at(-1).cio.tools[0]).toMatchObject({ name, ok: true });
  });

  it("a stream cut short books an estimate of what its round read (the system prompt, the tools' schemas, the messages) and streamed so far", async () => {
    const words = Array.from({ length: 200 }, (_, i) => `w${i}`).join(" ");
    const run = async (cutAfter?: number) => {
      const tenantId = await newTenant();
      const reply = await chat([user(withDirective(words, { text: words, chunkDelayMs: 5, noUsage: true }))], { tenantId, settings: OPENAI, body: { stream: true } });
      if (reply.kind !== "stream") throw new Error(`expected a stream, got ${reply.kind}`);
      const reader = reply.body.getReader();
      for (let i = 0; !(await reader.read()).done; i++) if (i + 1 === cutAfter) await reader.cancel();
      const limiter = limiterStub(baseEnv.RATE_LIMITER, tenantId);
      await eventually(async () => (await limiter.snapshot("k")).tokensToday > 0);
      return (await limiter.snapshot("k")).tokensToday;
    };
    const cut = await run(3);
    const whole = await run();
    // The client's prompt alone is over 200 tokens by the estimate; a few words of the answer's 200 had been sent.
    expect(cut).toBeGreaterThan(200);
    expect(cut).toBeLessThan(whole - 150);
  });

  it("a model that fails before answering is an OpenAI-shaped error, not a broken stream", async () => {
    const tenantId = await newTenant();
    const reply = await chat([{ role: "user", content: 'x MOCK:{"status":400,"errorMessage":"bad model input"}' }], { tenantId, settings: OPENAI, body: { stream: true } });
    expect(reply).toMatchObject({ kind: "error", error: { status: 400, error: { message: "bad model input" } } });
  });
});
