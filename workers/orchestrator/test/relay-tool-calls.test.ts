import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { sseComment } from "../../../lib/http/sse.js";
import { relay } from "../src/providers/openai-compatible/relay.js";

const sse = (...chunks: object[]) => new Response([...chunks.map((c) => `data: ${JSON.stringify(c)}\n\n`), "data: [DONE]\n\n"].join("")).body!;
const deltas = (tool_calls: object[], finish: string | null = null) => ({ id: "up", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta: { tool_calls }, finish_reason: finish }] });

async function relayed(body: ReadableStream<Uint8Array>): Promise<string> {
  let out = "";
  const dec = new TextDecoder();
  for await (const part of relay(body, { id: "chatcmpl-x", model: "m", includeUsage: false, promptText: "p", onUsage: () => {} })) out += dec.decode(part);
  return out;
}

/** What the official SDK assembles from the relayed stream (it merges deltas by index). */
async function sdkCalls(stream: string) {
  const client = new OpenAI({ apiKey: "x", baseURL: "https://relay.test/v1", fetch: async () => new Response(stream, { headers: { "content-type": "text/event-stream" } }) });
  const run = client.chat.completions.stream({ model: "m", messages: [{ role: "user", content: "hi" }] });
  const done = await run.finalChatCompletion();
  return done.choices[0]!.message.tool_calls!.map((c) => (c.type === "function" ? { id: c.id, name: c.function.name, arguments: c.function.arguments } : c));
}

const PARIS_ROME = [{ id: "a", name: "get_weather", arguments: '{"city":"Paris"}' }, { id: "b", name: "get_weather", arguments: '{"city":"Rome"}' }];

describe("passthrough relay of streamed tool calls", () => {
  it("a stream that ends with [DONE] but no finish_reason after tool calls finishes as tool_calls, not stop", async () => {
    const out = await relayed(sse(deltas([{ index: 0, id: "a", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }])));
    const chunks = out.split("\n\n").filter((b) => b.startsWith("data: {")).map((b) => JSON.parse(b.slice(6)) as { choices: { finish_reason: string | null }[] });
    expect(chunks.flatMap((c) => c.choices.map((x) => x.finish_reason)).filter(Boolean)).toEqual(["tool_calls"]);
  });

  it("an SSE comment keeps a carriage return out: it would end the line, and what follows would be read as an event", async () => {
    const text = new TextDecoder().decode(sseComment('cio tool x started {"a":"\rdata: {\"forged\":true}"}'));
    expect(text).not.toMatch(/\r/);
    expect(text.split("\n\n")[0]!.split(/\r\n|\r|\n/)).toHaveLength(1);
  });

  it("parallel calls that all say index 0 (Ollama) reach the client as calls 0 and 1", async () => {
    const out = await relayed(
      sse(
        deltas([{ index: 0, id: "a", type: "function", function: { name: "get_weather", arguments: '{"city":' } }]),
        deltas([{ index: 0, function: { arguments: '"Paris"}' } }]),
        deltas([{ index: 0, id: "b", type: "function", function: { name: "get_weather", arguments: '{"city":"Rome"}' } }], "tool_calls"),
      ),
    );
    expect(await sdkCalls(out)).toEqual(PARIS_ROME);
  });

  it("deltas without an index are numbered too; a well-behaved upstream's numbering is kept", async () => {
    const noIndex = await relayed(
      sse(
        deltas([{ id: "a", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }]),
        deltas([{ id: "b", type: "function", function: { name: "get_weather" } }]),
        deltas([{ function: { arguments: '{"city":"Rome"}' } }], "tool_calls"),
      ),
    );
    expect(await sdkCalls(noIndex)).toEqual(PARIS_ROME);
    const openai = await relayed(
      sse(
        deltas([{ index: 0, id: "a", type: "function", function: { name: "get_weather", arguments: "" } }]),
        deltas([{ index: 0, function: { arguments: '{"city":"Paris"}' } }]),
        deltas([{ index: 1, id: "b", type: "function", function: { name: "get_weather", arguments: "" } }]),
        deltas([{ index: 1, function: { arguments: '{"city":"Rome"}' } }], "tool_calls"),
      ),
    );
    const indexes = openai.split("\n\n").filter((b) => b.startsWith("data: {")).flatMap((b) => JSON.parse(b.slice(6)).choices[0]?.delta?.tool_calls ?? []).map((t: { index: number }) => t.index);
    expect(indexes).toEqual([0, 0, 1, 1]);
    expect(await sdkCalls(openai)).toEqual(PARIS_ROME);
  });
});
