/** The passthrough relay with several choices (n > 1): each is whole only with its own finish_reason. */
import { describe, expect, it } from "vitest";
import { createdWhileTimePasses } from "../../../test/support/stream-clock.js";
import { relay } from "../src/providers/openai-compatible/relay.js";

type Choice = { index: number; delta: { role?: string; content?: string }; finish_reason: string | null };
const piece = (index: number, content: string, finish: string | null = null) => ({ id: "up", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index, delta: { content }, finish_reason: finish }] });
const stream = (chunks: object[], done: boolean) =>
  new Response([...chunks.map((c) => `data: ${JSON.stringify(c)}\n\n`), done ? "data: [DONE]\n\n" : ""].join("")).body!;

async function relayed(body: ReadableStream<Uint8Array>) {
  const events: unknown[] = [];
  const dec = new TextDecoder();
  for await (const part of relay(body, { id: "chatcmpl-x", model: "m", includeUsage: false, promptText: "p", onUsage: () => {} })) {
    const data = dec.decode(part).replace(/^data: /, "").trim();
    events.push(data === "[DONE]" ? data : JSON.parse(data));
  }
  return events;
}
const finishes = (events: unknown[]) => events.flatMap((e) => ((e as { choices?: Choice[] }).choices ?? []).filter((c) => c.finish_reason).map((c) => [c.index, c.finish_reason]));

describe("passthrough relay of a stream with no choices", () => {
  it("gives the finish chunk it adds and the usage chunk one created time, however long the relay takes", async () => {
    const usageOnly = { id: "up", object: "chat.completion.chunk", created: 1, model: "m", choices: [], usage: { prompt_tokens: 1, completion_tokens: 0, total_tokens: 1 } };
    const frames = relay(stream([usageOnly], true), { id: "chatcmpl-x", model: "m", includeUsage: true, promptText: "p", onUsage: () => {} });
    // Pulled only when read (no chunk made ahead), so the clock moves between the relay's two chunks.
    const body = new ReadableStream<Uint8Array>({ pull: async (c) => ((r) => (r.done ? c.close() : c.enqueue(r.value)))(await frames.next()) }, { highWaterMark: 0 });
    const created = await createdWhileTimePasses(body);
    expect(created).toHaveLength(2);
    expect(new Set(created).size).toBe(1);
  });
});

describe("passthrough relay of several choices", () => {
  it("a stream cut off after one choice finished, with another still open, is an error, not a whole answer", async () => {
    const events = await relayed(stream([piece(0, "a"), piece(1, "b"), piece(0, " done", "stop"), piece(1, " and")], false));
    expect(events.at(-1)).toMatchObject({ error: { type: "upstream_error", message: "The model stream ended before the answer finished." } });
  });

  it("[DONE] with a choice that never said finish_reason gives that choice a stop, and only that one", async () => {
    const events = await relayed(stream([piece(0, "a"), piece(1, "b"), piece(0, " done", "length")], true));
    expect(finishes(events)).toEqual([[0, "length"], [1, "stop"]]);
    expect(events.at(-1)).toBe("[DONE]");
  });

  it("every choice finished: passed on as it came, with nothing added", async () => {
    const events = await relayed(stream([piece(0, "a"), piece(1, "b", "stop"), piece(0, " done", "stop")], false));
    expect(finishes(events)).toEqual([[1, "stop"], [0, "stop"]]);
    expect(events.at(-1)).toBe("[DONE]");
  });
});
