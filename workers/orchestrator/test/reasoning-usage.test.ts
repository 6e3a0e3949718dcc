/**
 * A reasoning model's reasoning, and a refusal, are completion tokens the upstream bills: when it reports no
 * usage, or the answer is cut short, our estimate counts them, in passthrough and in cio/auto alike.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { Logger } from "../../../lib/log.js";
import type { ChatCall, ChatReply, Usage } from "../../../lib/protocol/index.js";
import { runAgent } from "../src/agent/loop.js";
import { Spending } from "../src/agent/spending.js";
import type { Dispatcher } from "../src/dispatcher/index.js";
import { passthrough } from "../src/pipelines/passthrough.js";
import type { UpstreamConfig } from "../src/providers/openai-compatible/client.js";
import { relay } from "../src/providers/openai-compatible/relay.js";
import type { ModelEvent, ModelProvider } from "../src/providers/provider.js";
import { baseEnv } from "./agent/helpers.js";

const log = new Logger({ component: "reasoning-usage" });
const enc = new TextEncoder();
const sse = (o: unknown) => `data: ${typeof o === "string" ? o : JSON.stringify(o)}\n\n`;
/** 96 tokens by the estimate (384 characters). */
const THOUGHT = "Let me think about this carefully step by step. ".repeat(8);
const piece = (delta: Record<string, unknown>, finish: string | null = null) => sse({ id: "u", object: "chat.completion.chunk", created: 1, model: "r1", choices: [{ index: 0, delta, finish_reason: finish }] });

/** Answers every POST …/chat/completions with `answer(signal)`. */
const fakeUpstream = (answer: (signal?: AbortSignal) => Response) =>
  vi.spyOn(globalThis, "fetch").mockImplementation((_input, init) => Promise.resolve(answer(init?.signal ?? undefined)));
afterEach(() => vi.restoreAllMocks());

const cfg: UpstreamConfig = { baseUrl: "http://upstream.test/v1", timeoutMs: 1000, answerTimeoutMs: 1000, idleTimeoutMs: 1000, retries: 0, retryBaseMs: 1, retryMaxWaitMs: 1000 };
const call = (body: Record<string, unknown>): ChatCall =>
  ({ requestId: crypto.randomUUID(), tenantId: "ten_reasoning", keyId: "k", body: { model: "r1", messages: [{ role: "user", content: "hi" }], ...body } }) as unknown as ChatCall;
const depsBooking = (book: (u?: Usage) => void) => ({ log, settle: (_m: string, u?: Usage) => book(u), env: baseEnv, waitUntil: () => {} });

describe("passthrough: reasoning counted when the upstream reports no usage", () => {
  for (const field of ["reasoning_content", "reasoning"]) {
    it(`a stream cut while the model reasons (${field}) books the reasoning streamed so far`, async () => {
      let sent = 0;
      // 40 chunks of reasoning (about 4,000 tokens), then it goes on thinking until the call is aborted.
      fakeUpstream((signal) => new Response(new ReadableStream<Uint8Array>({
        pull: (c) => {
          if (sent++ < 40) return c.enqueue(enc.encode(piece({ [field]: THOUGHT })));
          return new Promise<void>((_, reject) => signal?.addEventListener("abort", () => reject(signal.reason), { once: true }));
        },
      }), { headers: { "content-type": "text/event-stream" } }));
      let booked: Usage | undefined;
      const reply = (await passthrough(call({ stream: true }), cfg, depsBooking((u) => (booked = u)))) as Extract<ChatReply, { kind: "stream" }>;
      const reader = reply.body.getReader();
      for (let i = 0; i < 40; i++) await reader.read();
      await reader.cancel();
      await vi.waitFor(() => expect(booked).toBeDefined());
      expect(booked!.completion_tokens).toBeGreaterThan(3500);
    });
  }

  it("a whole stream with no usage counts its reasoning and its refusal in the usage it sends", async () => {
    const chunks = [...Array.from({ length: 40 }, () => piece({ reasoning_content: THOUGHT })), piece({ refusal: THOUGHT }), piece({ content: "42" }, "stop"), sse("[DONE]")];
    let usage: Usage | undefined;
    for await (const _ of relay(new Response(chunks.join("")).body!, { id: "chatcmpl-x", model: "r1", includeUsage: true, promptText: "p", onUsage: (u) => (usage = u) }));
    expect(usage!.completion_tokens).toBeGreaterThan(41 * 90);
  });

  it("a JSON answer with no usage counts its message's reasoning and refusal", async () => {
    const message = { role: "assistant", content: "42", reasoning_content: THOUGHT.repeat(10), reasoning: THOUGHT.repeat(10), refusal: THOUGHT.repeat(10) };
    fakeUpstream(() => Response.json({ id: "u", object: "chat.completion", created: 1, model: "r1", choices: [{ index: 0, message, finish_reason: "stop" }] }));
    let booked: Usage | undefined;
    const reply = await passthrough(call({}), cfg, depsBooking((u) => (booked = u)));
    expect(reply).toMatchObject({ kind: "json", completion: { usage: { completion_tokens: booked!.completion_tokens } } });
    expect(booked!.completion_tokens).toBeGreaterThan(2800);
  });
});

describe("cio/auto: a round's reasoning counted when the provider reports no usage", () => {
  /** A provider whose one round reasons for about 4,000 tokens, then answers "42" (or never does). */
  const reasoner = (answers: boolean): ModelProvider => ({
    name: "openai",
    model: "r1",
    async *round(): AsyncIterable<ModelEvent> {
      for (let i = 0; i < 40; i++) yield { type: "reasoning", delta: THOUGHT };
      if (!answers) throw new Error("the upstream went away");
      yield { type: "text", delta: "42" };
      yield { type: "finish", reason: "stop" };
    },
  });
  const run = (provider: ModelProvider, spending: Spending) =>
    runAgent({ provider, dispatcher: {} as Dispatcher, systemPrompt: "s", messages: [{ role: "user", content: "hi" }], ownTools: [], clientTools: [], maxSteps: 2, requestId: "r", params: {}, stream: true, signal: AbortSignal.timeout(5000), spending });

  it("the answer's usage counts the reasoning the client never saw", async () => {
    const events = [];
    for await (const ev of run(reasoner(true), new Spending())) events.push(ev);
    const done = events.find((e) => e.type === "done") as { usage: Usage };
    expect(done.usage.completion_tokens).toBeGreaterThan(3500);
    // The reasoning is counted, not shown.
    expect(events.filter((e) => e.type === "text").map((e) => (e as { delta: string }).delta).join("")).toBe("42");
  });

  it("an answer that fails mid-reasoning books what was reasoned so far", async () => {
    const spending = new Spending();
    await expect((async () => { for await (const _ of run(reasoner(false), spending)); })()).rejects.toThrow("went away");
    expect(spending.soFar(false)!.completion_tokens).toBeGreaterThan(3500);
  });
});
