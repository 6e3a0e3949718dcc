import { describe, expect, it } from "vitest";
import { readTurnStream, TurnStreamError, type ToolActivity } from "../../../durable-objects/session/turn-stream.js";

const sse = (...events: (object | string)[]) =>
  new Blob(events.map((e) => `data: ${typeof e === "string" ? e : JSON.stringify(e)}\n\n`)).stream() as ReadableStream<Uint8Array>;
const chunk = (content: string | null, extra: object = {}) => ({ choices: [{ index: 0, delta: { content } }], ...extra });
const call = (tool_calls: object[]) => ({ choices: [{ index: 0, delta: { tool_calls } }] });

function collect() {
  const deltas: string[] = [];
  const tools: ToolActivity[] = [];
  return { deltas, tools, sink: { delta: (t: string) => deltas.push(t), tool: (t: ToolActivity) => tools.push(t) } };
}

describe("reading a turn's stream into session events", () => {
  it("turns content into deltas and the brain's tool reports into tool events, without repeating the summary", async () => {
    const c = collect();
    const body = sse(
      chunk("Looking "),
      chunk(null, { cio: { tool: { name: "market-data", arguments: "{}", latency_ms: 41, ok: true } } }),
      chunk("it up."),
      chunk(null, {
        cio: {
          tools: [
            { name: "market-data", arguments: "{}", latency_ms: 41, ok: true },
            { name: "web-search", arguments: "{}", latency_ms: 120.5, ok: false },
          ],
        },
      }),
      "[DONE]",
    );
    expect(await readTurnStream(body, new AbortController().signal, c.sink)).toEqual({ text: "Looking it up.", toolCalls: [] });
    expect(c.deltas).toEqual(["Looking ", "it up."]);
    expect(c.tools).toEqual([
      { name: "market-data", ok: true, latency_ms: 41 },
      { name: "web-search", ok: false, latency_ms: 120.5 },
    ]);
  });

  it("assembles the client's tool calls from their deltas (id and name first, arguments in pieces), by index", async () => {
    const body = sse(
      call([{ index: 0, id: "call_a", type: "function", function: { name: "get_weather", arguments: "" } }]),
      call([{ index: 1, id: "call_b", type: "function", function: { name: "get_time", arguments: "{}" } }]),
      call([{ index: 0, function: { arguments: '{"city":' } }]),
      call([{ index: 0, function: { arguments: '"Oslo"}' } }]),
      { choices: [{ index: 0, delta: {}, finish_reason: "tool_calls" }] },
      "[DONE]",
    );
    expect(await readTurnStream(body, new AbortController().signal, collect().sink)).toEqual({
      text: "",
      toolCalls: [
        { id: "call_a", type: "function", function: { name: "get_weather", arguments: '{"city":"Oslo"}' } },
        { id: "call_b", type: "function", function: { name: "get_time", arguments: "{}" } },
      ],
    });
  });

  it("assembles a custom tool's call (name, then its free-form input in pieces) beside a function call, not as a nameless function call", async () => {
    const body = sse(
      call([{ index: 0, id: "call_c", type: "custom", custom: { name: "run_sql", input: "SELECT " } }]),
      call([{ index: 1, id: "call_f", type: "function", function: { name: "get_time", arguments: "{}" } }]),
      call([{ index: 0, custom: { input: "1" } }]),
      "[DONE]",
    );
    expect((await readTurnStream(body, new AbortController().signal, collect().sink)).toolCalls).toEqual([
      { id: "call_c", type: "custom", custom: { name: "run_sql", input: "SELECT 1" } },
      { id: "call_f", type: "function", function: { name: "get_time", arguments: "{}" } },
    ]);
  });

  it("fails with the upstream's error when the stream carries one mid-answer", async () => {
    const c = collect();
    const body = sse(chunk("par"), { error: { message: "model overloaded", code: "overloaded" } });
    const err = await readTurnStream(body, new AbortController().signal, c.sink).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TurnStreamError);
    expect(err).toMatchObject({ code: "overloaded", message: "model overloaded" });
    expect(c.deltas).toEqual(["par"]);
  });

  it("stops and cancels the stream when the turn is aborted", async () => {
    let cancelled: unknown = null;
    const enc = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      start(ctl) {
        ctl.enqueue(enc.encode(`data: ${JSON.stringify(chunk("first"))}\n\n`));
      },
      cancel(reason) {
        cancelled = reason ?? "cancelled";
      },
    });
    const abort = new AbortController();
    const c = collect();
    const reading = readTurnStream(body, abort.signal, { ...c.sink, delta: (t) => (c.sink.delta(t), abort.abort(new Error("stop"))) });
    await expect(reading).rejects.toThrow("stop");
    expect(c.deltas).toEqual(["first"]);
    expect(cancelled).not.toBeNull();
  });
});
