/**
 * The agent loop's view of an OpenAI-compatible upstream. When the client streams, every round is a
 * streamed call, so the final answer's tokens pass straight through, and tool calls (which arrive as
 * deltas spread over many chunks, keyed by `index` and `id`) are assembled before they are handed to the loop.
 * When it does not, a round is one JSON completion: nobody waits for the first token, and one body is
 * cheaper to read than a stream of them.
 */
import { EventSourceParserStream } from "eventsource-parser/stream";
import { upstreamError } from "../../../../../lib/errors.js";
import type { Logger } from "../../../../../lib/log.js";
import type { ChatCompletion, ChatCompletionChunk, Usage } from "../../../../../lib/protocol/index.js";
import { newCallId, saneUsage, type ModelEvent, type ModelProvider, type ModelRound, type ModelToolCall } from "../provider.js";
import { completionOf, postChat, type UpstreamConfig } from "./client.js";
import { parseChunk } from "./relay.js";
import { ToolCallNumbering, type ToolCallDelta } from "./tool-call-numbering.js";


export function openAiProvider(cfg: UpstreamConfig, model: string, log: Logger): ModelProvider {
  return {
    name: "openai",
    model,
    async *round(r: ModelRound): AsyncIterable<ModelEvent> {
      const { parallel_tool_calls, ...params } = r.params;
      const body = {
        model,
        messages: r.messages,
        // parallel_tool_calls only with tools: OpenAI refuses it on the last round, which offers none.
        ...(r.tools.length ? { tools: r.tools, ...definedParams({ tool_choice: r.toolChoice, parallel_tool_calls }) } : {}),
        ...definedParams(params),
        ...(r.stream ? { stream: true, stream_options: { include_usage: true } } : {}),
      };
      const { response } = await postChat(cfg, body, r.signal, log, r.requestId);
      if (r.stream) yield* readRound(response.body!);
      else yield* readCompletion(await completionOf(response));
    },
  };
}

function* readCompletion(c: ChatCompletion): Iterable<ModelEvent> {
  const m = c.choices?.[0]?.message;
  const reasoning = reasoningOf(m);
  if (reasoning) yield { type: "reasoning", delta: reasoning };
  if (m?.content) yield { type: "text", delta: m.content };
  if (typeof m?.refusal === "string" && m.refusal) yield { type: "refusal", delta: m.refusal };
  for (const t of m?.tool_calls ?? []) yield { type: "tool_call", call: { id: t.id || newCallId(), name: t.function.name, arguments: t.function.arguments || "{}" } };
  const usage = saneUsage(c.usage);
  if (usage) yield { type: "usage", usage };
  const reason = c.choices?.[0]?.finish_reason;
  if (reason) yield { type: "finish", reason };
}

/**
 * A message's or delta's reasoning, as reasoning models' servers send it beside the content (DeepSeek, vLLM and
 * llama.cpp `reasoning_content`, OpenRouter and Ollama `reasoning`): never shown to the cio/auto client, but the
 * upstream bills it, so the loop counts it as written when the round reports no usage or is cut short.
 */
function reasoningOf(m: unknown): string | undefined {
  const r = m as { reasoning_content?: unknown; reasoning?: unknown } | undefined;
  const text = r?.reasoning_content ?? r?.reasoning;
  return typeof text === "string" && text ? text : undefined;
}

function definedParams(p: Record<string, unknown>) {
  return Object.fromEntries(Object.entries(p).filter(([, v]) => v !== undefined && v !== null));
}

export async function* readRound(body: ReadableStream<Uint8Array>): AsyncIterable<ModelEvent> {
  const calls = new CallAssembler();
  const events = body.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream());
  let ended = false;
  let finish: string | undefined;
  // Some upstreams repeat the running total on every chunk: only the last sane one counts, or it adds up many times.
  let usage: Usage | undefined;
  for await (const ev of events) {
    if (ev.data === "[DONE]") {
      ended = true;
      break;
    }
    const c = parseChunk(ev.data);
    if (c.usage) usage = saneUsage(c.usage) ?? usage;
    finish = c.choices?.find((x) => x.finish_reason)?.finish_reason ?? finish;
    if (finish) ended = true;
    const delta = c.choices?.[0]?.delta as (ChatCompletionChunk["choices"][number]["delta"] & { tool_calls?: ToolCallDelta[] }) | undefined;
    if (!delta) continue;
    const reasoning = reasoningOf(delta);
    if (reasoning) yield { type: "reasoning", delta: reasoning };
    if (typeof delta.content === "string" && delta.content) yield { type: "text", delta: delta.content };
    if (typeof delta.refusal === "string" && delta.refusal) yield { type: "refusal", delta: delta.refusal };
    for (const d of delta.tool_calls ?? []) calls.add(d);
  }
  // Closed with neither a finish_reason nor [DONE]: cut off, so its text or tool arguments may be partial.
  if (!ended) throw upstreamError("The model stream ended before the answer finished.");
  for (const call of calls.done()) yield { type: "tool_call", call };
  if (usage) yield { type: "usage", usage };
  if (finish) yield { type: "finish", reason: finish };
}

/** Puts streamed tool-call deltas back together, told apart as tool-call-numbering.ts explains. */
class CallAssembler {
  private readonly calls: ModelToolCall[] = [];
  private readonly numbering = new ToolCallNumbering();

  add(d: ToolCallDelta) {
    const call = (this.calls[this.numbering.of(d)] ??= { id: "", name: "", arguments: "" });
    if (d.id) call.id = d.id;
    if (d.function?.name) call.name += d.function.name;
    if (d.function?.arguments) call.arguments += d.function.arguments;
  }

  done(): ModelToolCall[] {
    return this.calls.map((c) => ({ ...c, id: c.id || newCallId(), arguments: c.arguments || "{}" }));
  }
}
