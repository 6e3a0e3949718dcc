/**
 * Renders the agent loop's events in OpenAI's wire format. JSON: one completion at the end. SSE: the
 * first chunk carries the role, text deltas (and a refusal's, as delta.refusal) follow as they come, tool activity travels as SSE comment
 * lines (which OpenAI clients ignore), client tool calls are streamed with `index`, `id`, `type` and
 * `function.name` in the first delta of each call, and the final chunk (and the usage chunk, when asked
 * for) carries the `cio` object: provider, steps and every tool called.
 */
import { SSE_DONE, sseComment, sseData } from "../../../../lib/http/sse.js";
import type { ChatCompletion, Usage } from "../../../../lib/protocol/index.js";
import type { ModelToolCall } from "../providers/provider.js";
import { chunk, usageChunk, type AnswerStamp } from "../wire.js";
import type { AgentEvent, CioInfo } from "./events.js";

export interface Rendered {
  /** What the model wrote, its refusal included: a usage estimate counts both. */
  text: string;
  usage?: Usage;
  cio?: CioInfo;
}

/** Where the answer goes: its stamp (the same on every chunk) and what the pipeline hears of it. */
export interface RenderTarget extends AnswerStamp {
  includeUsage: boolean;
  /** Usage to report: the provider's own, or an estimate from the texts when it gave none. */
  usageFor: (r: Rendered) => Usage;
  onDone: (r: Rendered & { usage: Usage }) => void;
  /** Each piece of answer text as it is streamed, so a stream cut short can still be counted. */
  onText?: (delta: string) => void;
}

export async function renderJson(events: AsyncIterable<AgentEvent>, t: RenderTarget): Promise<ChatCompletion> {
  let text = "";
  let refusal = "";
  let calls: ModelToolCall[] = [];
  for await (const ev of events) {
    if (ev.type === "text") text += ev.delta;
    else if (ev.type === "refusal") refusal += ev.delta;
    else if (ev.type === "client_tool_calls") calls = ev.calls;
    else if (ev.type === "done") {
      const usage = t.usageFor({ text: text + refusal, usage: ev.usage });
      t.onDone({ text: text + refusal, usage, cio: ev.cio });
      // As OpenAI answers: a refusal with no text beside it has null content, which a client's schema never parses.
      const said = { content: text || (refusal || calls.length ? null : ""), refusal: refusal || null };
      const message = calls.length
        ? { role: "assistant" as const, ...said, tool_calls: calls.map((c) => ({ id: c.id, type: "function" as const, function: { name: c.name, arguments: c.arguments } })) }
        : { role: "assistant" as const, ...said };
      return { id: t.id, object: "chat.completion", created: t.created, model: t.model, choices: [{ index: 0, message, logprobs: null, finish_reason: ev.finish }], usage, cio: ev.cio };
    }
  }
  throw new Error("the agent loop ended without a result");
}

export async function* renderSse(events: AsyncIterable<AgentEvent>, t: RenderTarget): AsyncGenerator<Uint8Array> {
  let text = "";
  yield sseData(chunk(t, { role: "assistant", content: "" }));
  for await (const ev of events) {
    switch (ev.type) {
      case "text":
        text += ev.delta;
        t.onText?.(ev.delta);
        yield sseData(chunk(t, { content: ev.delta }));
        break;
      case "refusal":
        text += ev.delta;
        t.onText?.(ev.delta);
        yield sseData(chunk(t, { refusal: ev.delta }));
        break;
      case "tool_start":
        yield sseComment(`cio tool ${ev.name} started ${ev.arguments}`);
        break;
      case "tool_end":
        yield sseComment(`cio tool ${ev.activity.name} ${ev.activity.ok ? "ok" : `failed ${ev.activity.error?.code ?? ""}`} ${ev.activity.latency_ms}ms`);
        break;
      case "client_tool_calls":
        for (const [index, c] of ev.calls.entries()) {
          yield sseData(chunk(t, { tool_calls: [{ index, id: c.id, type: "function", function: { name: c.name, arguments: "" } }] }));
          yield sseData(chunk(t, { tool_calls: [{ index, function: { arguments: c.arguments } }] }));
        }
        break;
      case "done": {
        const usage = t.usageFor({ text, usage: ev.usage });
        t.onDone({ text, usage, cio: ev.cio });
        yield sseData({ ...chunk(t, {}, ev.finish), cio: ev.cio });
        if (t.includeUsage) yield sseData({ ...usageChunk(t, usage), cio: ev.cio });
        yield SSE_DONE;
        return;
      }
    }
  }
}
