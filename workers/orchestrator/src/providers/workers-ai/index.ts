/**
 * Workers AI through the `AI` binding, with traditional function calling: tools go in as
 * {name, description, parameters}; a model answers `{response, tool_calls: [{name, arguments}]}` (older
 * function-calling models), `{response, tool_calls: [{id, type, function: {name, arguments}}]}` (Llama 4
 * Scout) or an OpenAI-shaped completion (newer ones), and all are understood.
 * Rounds are not streamed by the binding when tools are given, so the text is handed on word by word.
 */
import { upstreamError } from "../../../../../lib/errors.js";
import { unlessAborted } from "../../../../../lib/time.js";
import type { ChatMessage } from "../../../../../lib/protocol/index.js";
import { newCallId, saneUsage, toolsBoundBy, type ModelEvent, type ModelToolCall, type ModelParams, type ModelProvider, type ModelRound } from "../provider.js";

/** The slice of the AI binding we use; tests at the edge replace it with a scripted object. */
export interface AiBinding {
  run(model: string, inputs: Record<string, unknown>, options?: Record<string, unknown>): Promise<unknown>;
}

/** A call as the models write it: flat (older models) or with a nested `function` (Llama 4 Scout, OpenAI-shaped). */
interface AnswerCall {
  id?: string;
  name?: string;
  arguments?: unknown;
  function?: { name?: string; arguments?: unknown };
}
interface LegacyAnswer {
  response?: string | null;
  tool_calls?: AnswerCall[];
  usage?: unknown;
}
interface OpenAiAnswer {
  choices: { message: { content?: string | null; tool_calls?: AnswerCall[] }; finish_reason?: string | null }[];
  usage?: unknown;
}

export function workersAiProvider(ai: AiBinding, model: string): ModelProvider {
  return {
    name: "workers-ai",
    model,
    async *round(r: ModelRound): AsyncIterable<ModelEvent> {
      const inputs: Record<string, unknown> = { messages: r.messages.map(plain) };
      // The binding takes no tool_choice: a forced round is offered only the tools it binds to.
      const bound = toolsBoundBy(r.tools, r.toolChoice);
      const tools = bound ?? r.tools;
      if (tools.length) inputs.tools = tools.map((t) => ({ name: t.function.name, description: t.function.description ?? "", parameters: t.function.parameters ?? { type: "object", properties: {} } }));
      Object.assign(inputs, workersAiParams(r.params));
      let out: unknown;
      try {
        // The binding takes no signal: a cancelled or timed-out round stops waiting, and the answer is dropped.
        out = await unlessAborted(ai.run(model, inputs), r.signal);
      } catch (err) {
        if (r.signal.aborted) throw err;
        throw upstreamError(`Workers AI failed: ${err instanceof Error ? err.message : String(err)}`);
      }
      const events = [...eventsOf(out)];
      // A client waiting for the call it forced would misread prose (the builtin planner refuses so too).
      if (bound && !events.some((e) => e.type === "tool_call")) {
        throw upstreamError(`The Workers AI model ${model} answered in text where tool_choice asks for a call to ${bound.length === 1 ? `'${bound[0]!.function.name}'` : "a tool"}.`, 502, "tool_choice_not_met");
      }
      yield* events;
    },
  };
}

/**
 * Workers AI's text models take OpenAI's sampling inputs, but one token limit, named max_tokens; no stop, and no
 * parallel_tool_calls (the agent loop keeps a round to its first call itself: round-rules.ts).
 */
function workersAiParams(p: ModelParams): Record<string, unknown> {
  const { max_completion_tokens, max_tokens, stop: _stop, response_format, user: _user, parallel_tool_calls: _parallel, reasoning_effort: _effort, ...rest } = p;
  const limit = max_completion_tokens ?? max_tokens;
  const format = jsonMode(response_format);
  return { ...rest, ...(limit != null ? { max_tokens: limit } : {}), ...(format ? { response_format: format } : {}) };
}

/** Workers AI's JSON mode takes the schema itself as `json_schema`, where OpenAI wraps it in {name, schema, strict}. */
function jsonMode(f: ModelParams["response_format"]): Record<string, unknown> | undefined {
  if (f?.type === "json_object") return { type: "json_object" };
  if (f?.type !== "json_schema") return undefined;
  const wrapped = (f as { json_schema?: { schema?: unknown } }).json_schema;
  return { type: "json_schema", json_schema: wrapped?.schema ?? {} };
}


function* eventsOf(out: unknown): Iterable<ModelEvent> {
  const o = (out ?? {}) as LegacyAnswer & Partial<OpenAiAnswer>;
  const msg = o.choices?.[0]?.message;
  // In JSON mode the answer comes as the parsed object; the client reads it as text, like OpenAI's.
  const raw: unknown = msg ? (msg.content ?? "") : (o.response ?? "");
  const text = typeof raw === "string" ? raw : JSON.stringify(raw);
  for (const w of text.match(/\S+\s*|\s+/g) ?? []) yield { type: "text", delta: w };
  for (const c of (msg ? msg.tool_calls : o.tool_calls) ?? []) yield { type: "tool_call", call: callOf(c) };
  const usage = saneUsage(o.usage);
  if (usage) yield { type: "usage", usage };
  const reason = o.choices?.[0]?.finish_reason;
  if (reason) yield { type: "finish", reason };
}

/** Arguments come as an object or as JSON text; the agent loop reads JSON text, as OpenAI sends it. */
function callOf(c: AnswerCall): ModelToolCall {
  const args = c.function?.arguments ?? c.arguments;
  // A nameless call goes on as "": the dispatcher answers the model that no such tool exists.
  return { id: c.id || newCallId(), name: c.function?.name ?? c.name ?? "", arguments: typeof args === "string" ? args : JSON.stringify(args ?? {}) };
}

/** Workers AI models take string contents; multi-part user messages keep their text parts. */
function plain(m: ChatMessage): Record<string, unknown> {
  const content = typeof m.content === "string" || m.content == null ? (m.content ?? "") : m.content.map((p) => (typeof p.text === "string" ? p.text : "")).join(" ");
  return { ...m, content };
}
