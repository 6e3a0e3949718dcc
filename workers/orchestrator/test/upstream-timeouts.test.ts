/**
 * The upstream's deadlines cover the whole wait: a non-streamed answer's body as well as its headers
 * (CIO_UPSTREAM_ANSWER_TIMEOUT_MS), and each gap of a streamed answer once its headers came
 * (CIO_UPSTREAM_IDLE_TIMEOUT_MS). An upstream that stalls ends the call with a 504-like error and is aborted.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { Logger } from "../../../lib/log.js";
import type { ChatCall, ChatReply } from "../../../lib/protocol/index.js";
import { passthrough } from "../src/pipelines/passthrough.js";
import type { UpstreamConfig } from "../src/providers/openai-compatible/client.js";
import { openAiProvider } from "../src/providers/openai-compatible/provider.js";
import { baseEnv, streamText } from "./agent/helpers.js";

const log = new Logger({ component: "upstream-timeouts" });
const enc = new TextEncoder();
const sse = (o: unknown) => `data: ${typeof o === "string" ? o : JSON.stringify(o)}\n\n`;
const piece = (content: string, finish: string | null = null) => sse({ id: "u", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta: { content }, finish_reason: finish }] });
const COMPLETION = JSON.stringify({ id: "u", object: "chat.completion", created: 1, model: "m", choices: [{ index: 0, message: { role: "assistant", content: "hello" }, finish_reason: "stop" }] });

/** The signals the fake upstream's calls were made with, to see that a stalled one is aborted. */
let signals: AbortSignal[] = [];
/** Answers every call with a body made of `parts`, sent `gapMs` apart; a part that is null never comes. */
function fakeUpstream(parts: (string | null)[], gapMs: number, contentType: string) {
  signals = [];
  return vi.spyOn(globalThis, "fetch").mockImplementation((_input, init) => {
    signals.push(init!.signal!);
    let i = 0;
    const body = new ReadableStream<Uint8Array>({
      pull: async (c) => {
        if (i >= parts.length) return c.close();
        const part = parts[i++];
        if (part === null) return new Promise<void>(() => {}); // stalls, and does not heed the abort either
        await new Promise((r) => setTimeout(r, gapMs));
        c.enqueue(enc.encode(part));
      },
    });
    return Promise.resolve(new Response(body, { headers: { "content-type": contentType } }));
  });
}
afterEach(() => vi.restoreAllMocks());

const cfg: UpstreamConfig = { baseUrl: "http://upstream.test/v1", timeoutMs: 2000, answerTimeoutMs: 400, idleTimeoutMs: 300, retries: 2, retryBaseMs: 1, retryMaxWaitMs: 1000 };
const call = (body: Record<string, unknown> = {}): ChatCall =>
  ({ requestId: crypto.randomUUID(), tenantId: "ten_timeouts", keyId: "k", body: { model: "m", messages: [{ role: "user", content: "hi" }], ...body } }) as unknown as ChatCall;
function deps() {
  const settled: string[] = [];
  return { settled, log, settle: (m: string) => settled.push(m), env: baseEnv, waitUntil: () => {} };
}

describe("a non-streamed answer within CIO_UPSTREAM_ANSWER_TIMEOUT_MS", () => {
  it("headers, then a body that never comes: a 504 upstream_timeout once the deadline passes, not retried, the call aborted", async () => {
    fakeUpstream([COMPLETION.slice(0, 20), null], 0, "application/json");
    const d = deps();
    const started = Date.now();
    const reply = await passthrough(call(), cfg, d);
    expect(reply).toMatchObject({ kind: "error", error: { status: 504, error: { code: "upstream_timeout" } } });
    expect(Date.now() - started).toBeLessThan(1500);
    expect(signals).toHaveLength(1);
    expect(signals[0]!.aborted).toBe(true);
    expect(d.settled).toEqual(["m"]);
  });

  it("a body that comes slowly but whole within the deadline is the answer", async () => {
    fakeUpstream([COMPLETION.slice(0, 30), COMPLETION.slice(30, 60), COMPLETION.slice(60)], 100, "application/json");
    const reply = await passthrough(call(), cfg, deps());
    expect(reply).toMatchObject({ kind: "json", completion: { choices: [{ message: { content: "hello" } }] } });
  });

  it("cio/auto's rounds are bounded alike: the provider's round fails with the 504", async () => {
    fakeUpstream([null], 0, "application/json");
    const round = openAiProvider(cfg, "m", log).round({ messages: [{ role: "user", content: "hi" }], tools: [], requestId: "r", signal: AbortSignal.timeout(5000), stream: false, params: {} });
    const events = (async () => { for await (const _ of round); })();
    await expect(events).rejects.toMatchObject({ status: 504, code: "upstream_timeout" });
  });
});

describe("a streamed answer within CIO_UPSTREAM_IDLE_TIMEOUT_MS", () => {
  it("a stream that stalls after its first pieces ends with an upstream_timeout error event, the call aborted", async () => {
    fakeUpstream([piece("a"), piece("b"), null], 0, "text/event-stream");
    const d = deps();
    const reply = (await passthrough(call({ stream: true }), cfg, d)) as Extract<ChatReply, { kind: "stream" }>;
    const started = Date.now();
    const text = await streamText(reply);
    expect(Date.now() - started).toBeLessThan(1500);
    const last = JSON.parse(text.trim().split("\n\n").at(-1)!.slice(6));
    expect(last).toMatchObject({ error: { code: "upstream_timeout" } });
    expect(text).toContain('"content":"b"');
    expect(signals[0]!.aborted).toBe(true);
    await vi.waitFor(() => expect(d.settled).toEqual(["m"]));
  });

  it("a stream whose pieces come often enough runs past the idle timeout as long as it takes", async () => {
    fakeUpstream([...Array.from({ length: 8 }, (_, i) => piece(`w${i} `)), piece("", "stop"), sse("[DONE]")], 100, "text/event-stream");
    const reply = (await passthrough(call({ stream: true }), cfg, deps())) as Extract<ChatReply, { kind: "stream" }>;
    const text = await streamText(reply);
    expect(text).toContain('"content":"w7 "');
    expect(text).not.toContain('"error"');
    expect(text.trim().endsWith("data: [DONE]")).toBe(true);
  });
});
