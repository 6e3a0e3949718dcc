/**
 * A model's refusal (OpenAI's `refusal`, which its models send in place of content, mostly under a
 * json_schema response_format) reaches the cio/auto client where OpenAI puts it: message.refusal with null
 * content, or delta.refusal chunks in a stream. It was dropped, and the client read an empty answer.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { chat, completionOf, newTenant, OPENAI, streamText, user } from "./helpers.js";

const REFUSAL = "I'm sorry, I can't help with that.";
const JSON_SCHEMA = { response_format: { type: "json_schema", json_schema: { name: "x", schema: { type: "object" } } } };
const sse = (o: unknown) => `data: ${typeof o === "string" ? o : JSON.stringify(o)}\n\n`;
const base = { id: "x", object: "chat.completion.chunk", created: 1, model: "mock-model" };

/** Answers every POST …/chat/completions with `answer()`; any other fetch goes to the real one. */
function fakeUpstream(answer: () => Response) {
  const real = globalThis.fetch;
  vi.spyOn(globalThis, "fetch").mockImplementation((input: RequestInfo | URL, init?: RequestInit) => {
    const url = input instanceof Request ? input.url : String(input);
    return url.endsWith("/chat/completions") ? Promise.resolve(answer()) : real(input as never, init);
  });
}
afterEach(() => vi.restoreAllMocks());

const refusedJson = (usage?: object) => () =>
  Response.json({
    id: "x", object: "chat.completion", created: 1, model: "mock-model",
    choices: [{ index: 0, message: { role: "assistant", content: null, refusal: REFUSAL }, finish_reason: "stop" }],
    ...(usage ? { usage } : {}),
  });

const refusedStream = () =>
  new Response(
    [
      sse({ ...base, choices: [{ index: 0, delta: { role: "assistant", content: null, refusal: "" }, finish_reason: null }] }),
      sse({ ...base, choices: [{ index: 0, delta: { refusal: "I'm sorry, " }, finish_reason: null }] }),
      sse({ ...base, choices: [{ index: 0, delta: { refusal: "I can't help with that." }, finish_reason: null }] }),
      sse({ ...base, choices: [{ index: 0, delta: {}, finish_reason: "stop" }] }),
      sse("[DONE]"),
    ].join(""),
    { headers: { "content-type": "text/event-stream" } },
  );

type Delta = { content?: string | null; refusal?: string };
const deltasOf = (text: string) =>
  text.split("\n\n").filter((b) => b.startsWith("data: {")).map((b) => (JSON.parse(b.slice(6)) as { choices?: { delta?: Delta }[] }).choices?.[0]?.delta ?? {});

describe("cio/auto over an OpenAI-compatible upstream: a model's refusal", () => {
  it("JSON: message.refusal carries it and the content is null, as OpenAI answers", async () => {
    fakeUpstream(refusedJson({ prompt_tokens: 5, completion_tokens: 9, total_tokens: 14 }));
    const tenantId = await newTenant();
    const reply = completionOf(await chat([user("something refused")], { tenantId, settings: OPENAI, body: JSON_SCHEMA }));
    expect(reply.choices[0]).toMatchObject({ message: { role: "assistant", content: null, refusal: REFUSAL }, finish_reason: "stop" });
    expect(reply.usage).toMatchObject({ completion_tokens: 9 });
  });

  it("JSON: with no usage from the upstream, the refusal is counted as written text", async () => {
    fakeUpstream(refusedJson());
    const tenantId = await newTenant();
    const reply = completionOf(await chat([user("something refused")], { tenantId, settings: OPENAI }));
    expect(reply.choices[0]!.message).toMatchObject({ content: null, refusal: REFUSAL });
    expect(reply.usage!.completion_tokens).toBeGreaterThan(0);
  });

  it("stream: the refusal arrives as delta.refusal chunks, and no content", async () => {
    fakeUpstream(refusedStream);
    const tenantId = await newTenant();
    const deltas = deltasOf(await streamText(await chat([user("something refused")], { tenantId, settings: OPENAI, body: { stream: true, ...JSON_SCHEMA } })));
    expect(deltas.map((d) => d.refusal ?? "").join("")).toBe(REFUSAL);
    expect(deltas.map((d) => d.content ?? "").join("")).toBe("");
  });

  it("an answer without a refusal still has refusal null", async () => {
    fakeUpstream(() => Response.json({ id: "x", object: "chat.completion", created: 1, model: "mock-model", choices: [{ index: 0, message: { role: "assistant", content: "{}" }, finish_reason: "stop" }] }));
    const tenantId = await newTenant();
    const reply = completionOf(await chat([user("fine")], { tenantId, settings: OPENAI, body: JSON_SCHEMA }));
    expect(reply.choices[0]!.message).toMatchObject({ content: "{}", refusal: null });
  });
});

describe("cio/auto over an OpenAI-compatible upstream: a model's reasoning", () => {
  const THOUGHT = "Let me think about this step by step. ".repeat(200); // ≈ 7,600 characters
  it("JSON: with no usage from the upstream, reasoning_content is counted as written though the client never sees it", async () => {
    fakeUpstream(() =>
      Response.json({ id: "x", object: "chat.completion", created: 1, model: "mock-model", choices: [{ index: 0, message: { role: "assistant", content: "42", reasoning_content: THOUGHT }, finish_reason: "stop" }] }),
    );
    const tenantId = await newTenant();
    const reply = completionOf(await chat([user("think")], { tenantId, settings: OPENAI }));
    expect(reply.choices[0]!.message.content).toBe("42");
    expect(reply.usage!.completion_tokens).toBeGreaterThan(1000);
  });

  it("stream: with no usage from the upstream, delta.reasoning is counted as written, and only the content is sent", async () => {
    fakeUpstream(
      () =>
        new Response(
          [
            ...Array.from({ length: 20 }, () => sse({ ...base, choices: [{ index: 0, delta: { reasoning: THOUGHT.slice(0, 380) }, finish_reason: null }] })),
            sse({ ...base, choices: [{ index: 0, delta: { content: "42" }, finish_reason: null }] }),
            sse({ ...base, choices: [{ index: 0, delta: {}, finish_reason: "stop" }] }),
            sse("[DONE]"),
          ].join(""),
          { headers: { "content-type": "text/event-stream" } },
        ),
    );
    const tenantId = await newTenant();
    const text = await streamText(await chat([user("think")], { tenantId, settings: OPENAI, body: { stream: true, stream_options: { include_usage: true } } }));
    expect(deltasOf(text).map((d) => d.content ?? "").join("")).toBe("42");
    expect(text).not.toContain("step by step");
    const usage = text.split("\n\n").filter((b) => b.startsWith("data: {")).map((b) => JSON.parse(b.slice(6)) as { usage?: { completion_tokens: number } }).find((c) => c.usage)?.usage;
    expect(usage!.completion_tokens).toBeGreaterThan(1000);
  });
});
