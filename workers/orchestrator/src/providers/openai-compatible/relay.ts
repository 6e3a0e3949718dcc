/**
 * Relays an upstream SSE stream to our client in OpenAI's exact format, whatever the upstream's quirks:
 * one id on every chunk, `role` in the first delta, a chunk with `finish_reason`, the usage chunk only
 * when the client asked for it (we always ask upstream, to count tokens), comment lines ignored, and an
 * error after the stream started sent as `data: {"error":…}`.
 */
import { EventSourceParserStream } from "eventsource-parser/stream";
import { ApiError, upstreamError } from "../../../../../lib/errors.js";
import { SSE_DONE, sseData } from "../../../../../lib/http/sse.js";
import type { ChatCompletionChunk, Usage } from "../../../../../lib/protocol/index.js";
import { writtenText } from "../../estimate.js";
import { saneUsage } from "../provider.js";
import { chunk, nowSeconds, usageChunk, usageOf } from "../../wire.js";
import { ToolCallNumbering, type ToolCallDelta } from "./tool-call-numbering.js";

export interface RelayOptions {
  id: string;
  model: string;
  includeUsage: boolean;
  promptText: string;
  /** Called once at the end with the upstream's usage, or an estimate when it reported none. */
  onUsage: (u: Usage) => void;
  /** Each piece of the answer as it is relayed (text, reasoning, refusal, tool calls' names and arguments), so a stream cut short can still be counted. */
  onWritten?: (piece: string) => void;
}

export async function* relay(body: ReadableStream<Uint8Array>, o: RelayOptions): AsyncGenerator<Uint8Array> {
  const events = body.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream());
  // By choice: with n > 1 each choice's first delta carries the role, as OpenAI sends them, and the answer is
  // whole only when every choice has its finish_reason (one finished choice said so of all of them).
  const roleSent = new Set<number>();
  const ended = new Set<number>();
  /** Choices that called tools: one the upstream left without a finish_reason ends with "tool_calls". */
  const called = new Set<number>();
  const unfinished = () => [...roleSent].filter((i) => !ended.has(i));
  let done = false;
  let usage: Usage | undefined;
  let answer = "";
  // The first chunk's: OpenAI stamps every chunk of a stream alike, the usage chunk and the last one too.
  let stamp: { created: number; system_fingerprint?: string } | undefined;
  const numberings = new Map<number, ToolCallNumbering>();
  const numberingOf = (choice: number) => numberings.get(choice) ?? numberings.set(choice, new ToolCallNumbering()).get(choice)!;
  try {
    for await (const ev of events) {
      if (ev.data === "[DONE]") {
        done = true;
        break;
      }
      const c = parseChunk(ev.data);
      // Usage that is not sane (strings, negative counts) is dropped: the estimate is booked and sent instead.
      if (c.usage) usage = saneUsage(c.usage) ?? usage;
      if (!c.choices?.length) continue; // a usage-only chunk: re-emitted at the end if asked for
      delete c.usage;
      stamp ??= { created: typeof c.created === "number" ? c.created : nowSeconds(), ...(typeof c.system_fingerprint === "string" ? { system_fingerprint: c.system_fingerprint } : {}) };
      Object.assign(c, { id: o.id, model: o.model, object: "chat.completion.chunk", created: stamp.created });
      // Tool calls renumbered 0, 1, 2…: clients merge deltas by index, so Ollama's parallel calls (all 0)
      // reached them as one call with the names and arguments run together.
      for (const choice of c.choices) {
        for (const tc of (choice.delta?.tool_calls ?? []) as ToolCallDelta[]) tc.index = numberingOf(choice.index).of(tc);
        if (!roleSent.has(choice.index)) choice.delta = { role: "assistant", ...choice.delta };
        roleSent.add(choice.index);
        // Every choice's text, reasoning and tool calls count: the upstream bills the completion tokens of all n.
        const written = choice.delta ? writtenText(choice.delta) : "";
        if (written) (answer += written), o.onWritten?.(written);
        if (choice.delta?.tool_calls?.length) called.add(choice.index);
        if (choice.finish_reason) ended.add(choice.index);
      }
      yield sseData(c);
    }
    // A stream that closed with neither every finish_reason nor [DONE] was cut off, however cleanly it closed:
    // passing it on as finished would present a partial answer as the whole one.
    if (!done && (!roleSent.size || unfinished().length)) throw upstreamError("The model stream ended before the answer finished.");
  } catch (err) {
    const e = err instanceof ApiError ? err : upstreamError(`The model stream broke off: ${String(err)}`);
    yield sseData(e.toBody());
    return;
  }
  // A stream with no choices at all has no stamp yet: one, for the chunks that follow alike.
  stamp ??= { created: nowSeconds() };
  const head = { id: o.id, model: o.model, created: stamp.created };
  // [DONE] without a finish_reason: each choice gets one, as OpenAI's clients expect.
  if (!roleSent.size) yield sseData({ ...chunk(head, { role: "assistant", content: "" }, "stop"), ...stamp });
  else if (unfinished().length) yield sseData({ ...chunk(head, {}, "stop"), choices: unfinished().map((index) => ({ index: index ?? 0, delta: {}, logprobs: null, finish_reason: called.has(index) ? "tool_calls" : "stop" })), ...stamp });
  const final = usage ?? usageOf(o.promptText, answer);
  o.onUsage(final);
  if (o.includeUsage) yield sseData({ ...usageChunk(head, final), ...stamp });
  yield SSE_DONE;
}

export function parseChunk(data: string): ChatCompletionChunk & { error?: unknown } {
  let parsed: ChatCompletionChunk & { error?: { message?: string; code?: unknown } };
  try {
    parsed = JSON.parse(data);
  } catch {
    throw upstreamError("The model upstream sent a malformed stream chunk.");
  }
  // The upstream's own code (context_length_exceeded, server_overloaded…) is what a client branches on.
  const code = typeof parsed.error?.code === "string" ? parsed.error.code : undefined;
  if (parsed.error) throw upstreamError(`The model upstream failed mid-stream: ${parsed.error.message ?? "unknown error"}`, 502, code);
  return parsed;
}
