/**
 * Reads one answer of the orchestrator (an OpenAI SSE stream) into session events: text deltas as they
 * arrive and the tools the brain used (`cio.tool` on a chunk, or the `cio.tools` summary on the last one).
 * Aborting the signal cancels the stream, which travels back to the pipeline and aborts the upstream call.
 */
import { EventSourceParserStream } from "eventsource-parser/stream";
import type { StoredToolCall } from "../../lib/protocol/session.js";

export interface ToolActivity {
  name: string;
  ok: boolean;
  latency_ms: number;
}

export interface StreamSink {
  delta(text: string): void;
  tool(t: ToolActivity): void;
}

export class TurnStreamError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** A call's piece: a function call's name and arguments, or a custom (free-form) call's name and input. */
type CallDelta = { index: number; id?: string; type?: string; function?: { name?: string; arguments?: string }; custom?: { name?: string; input?: string } };
interface Chunk {
  choices?: { delta?: { content?: string | null; tool_calls?: CallDelta[] } }[];
  error?: { message?: string; code?: string | null };
  cio?: { tool?: unknown; tools?: unknown };
}

/** The answer a stream carried: its text, and the client's tools it called (assembled from their deltas). */
export interface TurnAnswer {
  text: string;
  toolCalls: StoredToolCall[];
}

/** Consumes the stream; resolves with the answer, rejects with a TurnStreamError or the abort reason. */
export async function readTurnStream(body: ReadableStream<Uint8Array>, signal: AbortSignal, sink: StreamSink): Promise<TurnAnswer> {
  const reader = body.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream()).getReader();
  const onAbort = () => void reader.cancel(signal.reason).catch(() => {});
  signal.addEventListener("abort", onAbort, { once: true });
  let text = "";
  const calls: StoredToolCall[] = [];
  let toolsSeen = 0;
  try {
    for (;;) {
      if (signal.aborted) throw signal.reason;
      const { value, done } = await reader.read();
      if (signal.aborted) throw signal.reason;
      if (done) break;
      if (value.data === "[DONE]") break;
      const chunk = JSON.parse(value.data) as Chunk;
      if (chunk.error) throw new TurnStreamError(chunk.error.code ?? "upstream_error", chunk.error.message ?? "The model failed mid-answer.");
      const piece = chunk.choices?.[0]?.delta?.content;
      if (piece) {
        text += piece;
        sink.delta(piece);
      }
      for (const d of chunk.choices?.[0]?.delta?.tool_calls ?? []) addCallDelta(calls, d);
      if (chunk.cio?.tool) {
        for (const t of toolsOf([chunk.cio.tool])) sink.tool(t), toolsSeen++;
      }
      // The summary repeats tools already reported one by one; only the ones not seen yet are new.
      if (chunk.cio?.tools) for (const t of toolsOf(chunk.cio.tools).slice(toolsSeen)) sink.tool(t), toolsSeen++;
    }
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
  return { text, toolCalls: calls.filter(Boolean) };
}

/**
 * OpenAI streams a call as its id, type and name first, then its arguments (a custom call's input) in pieces,
 * all under one index. A custom call read as a function one was recorded with no name and no input, and every
 * later turn sent the upstream a function call with an empty name.
 */
function addCallDelta(calls: StoredToolCall[], d: CallDelta) {
  const custom = d.type === "custom" || d.custom !== undefined;
  const c = (calls[d.index] ??= custom ? { id: "", type: "custom", custom: { name: "", input: "" } } : { id: "", type: "function", function: { name: "", arguments: "" } });
  if (d.id) c.id = d.id;
  if (c.type === "custom") {
    c.custom.name += d.custom?.name ?? "";
    c.custom.input += d.custom?.input ?? "";
  } else {
    c.function.name += d.function?.name ?? "";
    c.function.arguments += d.function?.arguments ?? "";
  }
}

function toolsOf(raw: unknown): ToolActivity[] {
  if (!Array.isArray(raw)) return [];
  return raw
    .filter((t): t is Record<string, unknown> => typeof t === "object" && t !== null && typeof (t as { name?: unknown }).name === "string")
    .map((t) => ({ name: String(t.name), ok: t.ok !== false, latency_ms: Math.max(0, Number(t.latency_ms) || 0) }));
}
