/**
 * `cio/auto`: the orchestrator decides how to answer. It loads the tenant's tools (ranked by what they
 * have learned), picks the model provider, runs the agent loop and renders it as a completion or a
 * stream. Tool calls are queued for the learning loop after the answer and written off its path.
 */
import { ApiError, badRequest } from "../../../../lib/errors.js";
import type { ChatCall, ChatCompletionRequest, ChatMessage, ChatReply, FunctionTool } from "../../../../lib/protocol/index.js";
import type { AgentEvent } from "../agent/events.js";
import { restoreTurns, saveTurn } from "../agent/continuation.js";
import { runAgent } from "../agent/loop.js";
import { renderJson, renderSse, type RenderTarget } from "../agent/render.js";
import { Spending } from "../agent/spending.js";
import { Dispatcher } from "../dispatcher/index.js";
import { quality, rankByQuality } from "../learning/quality.js";
import type { CallOutcome } from "../learning/record.js";
import { queueCalls, queueSettings } from "../learning/record-queue.js";
import { callerScopes } from "./caller-scopes.js";
import { modelParams, type ModelToolCall } from "../providers/provider.js";
import { selectProvider } from "../providers/select.js";
import { tenantTools, type RegisteredTool } from "../registry/index.js";
import { offerableWith } from "../tools/local.js";
import type { OrchestratorSettings } from "../settings.js";
import { promptText } from "../estimate.js";
import { pipelineAbort, safely, toReadable } from "../stream.js";
import { offeredTools } from "./tool-choice.js";
import { answerStamp, usageOf } from "../wire.js";
import type { PipelineDeps } from "./passthrough.js";

export async function auto(call: ChatCall, s: OrchestratorSettings, deps: PipelineDeps): Promise<ChatReply> {
  const { env, log } = deps;
  const model = call.body.model;
  const abort = pipelineAbort(deps.stopped);
  let waited = 0;
  // What the model rounds have cost so far: booked when the answer ends before its usage is known.
  const spending = new Spending();
  // Cut when we stopped it (its client went away, its session turn was stopped): the round in progress counts.
  const spentSoFar = () => spending.soFar(abort.signal.aborted);
  let events: AsyncGenerator<AgentEvent>;
  let first: IteratorResult<AgentEvent>;
  try {
    assertNoFunctionResults(call.body.messages);
    const [registry, scopes] = await Promise.all([tenantTools(env, s, call.tenantId, log, deps.waitUntil), callerScopes(env.DB, call, s.CIO_KEY_CACHE_TTL_S)]);
    // Every tool the caller may be offered, best first; the client's tool_choice is checked against all of them.
    const offerable = rankByQuality(registry.tools.filter(offerableWith(scopes)), registry.stats);
    const tools = offeredTools(call.body, offerable.map(asFunctionTool), s.CIO_MAX_TOOLS_OFFERED);
    const ownNames = new Set(tools.own.map((t) => t.function.name));
    const offered = offerable.filter((t) => ownNames.has(t.name));
    const manifests = new Map(offered.map((t) => [t.name, t.manifest]));
    const provider = selectProvider(env, s, log, {
      manifests,
      quality: (name) => quality(registry.stats.get(name), manifests.get(name)?.timeoutMs ?? 1),
      minScore: s.CIO_BUILTIN_MIN_SCORE,
    });
    // The builtin planner writes prose: a client asking for JSON would get text its parser refuses.
    const format = call.body.response_format?.type;
    if (provider.name === "builtin" && (format === "json_object" || format === "json_schema")) {
      throw new ApiError(501, "server_error", "JSON output needs a language model: configure Workers AI, or CIO_UPSTREAM_BASE_URL with CIO_UPSTREAM_MODELS.", "no_model_provider", "response_format");
    }
    if (provider.name === "workers-ai") assertTextOnly(call.body.messages, provider.model);
    const dispatcher = new Dispatcher({ env, settings: s, tenantId: call.tenantId, requestId: call.requestId, log, sessionId: call.body.session_id, keyId: call.keyId, waitUntil: deps.waitUntil }, new Map(offered.map((t) => [t.name, t])));
    const body = call.body;
    const kept = { tenantId: call.tenantId, keyId: call.keyId, requestId: call.requestId, ttlMs: s.CIO_CONTINUATION_TTL_MS };
    const history = await restoreTurns(env.DB, kept, body.messages);
    events = recorded(
      keepTurn(runAgent({
        provider,
        dispatcher,
        systemPrompt: s.CIO_SYSTEM_PROMPT,
        messages: history,
        ownTools: tools.own,
        clientTools: tools.client,
        toolChoice: tools.forced,
        maxSteps: s.CIO_MAX_STEPS,
        requestId: call.requestId,
        params: modelParams(body),
        stream: body.stream === true,
        signal: abort.signal,
        waited: (ms) => (waited += ms),
        spending,
      }), (turn, calls) => saveTurn(env.DB, kept, turn, calls).catch((err) => log.error("a paused turn could not be kept; the follow-up will lack our tool results", { err }))),
      (outcomes) => {
        const calls = outcomes.map((o) => ({ ...o, tenantId: call.tenantId, requestId: call.requestId }));
        const write = queueCalls(env.DB, calls, queueSettings(s, log));
        if (write) deps.waitUntil(write.catch((err) => log.error("tool calls could not be recorded", { err })));
      },
    );
    // The first event is awaited here, so a model that fails before answering anything is an HTTP error.
    first = await events.next();
  } catch (err) {
    deps.settle(model, spentSoFar());
    if (err instanceof ApiError) return { kind: "error", error: err.toJSON(), upstreamMs: waited };
    throw err;
  }
  const prompt = promptText(call.body.messages);
  let streamed = "";
  const target: RenderTarget = {
    ...answerStamp(model),
    includeUsage: call.body.stream_options?.include_usage === true,
    usageFor: (r) => r.usage ?? usageOf(prompt, r.text),
    onDone: (r) => deps.settle(model, r.usage),
    onText: (d) => (streamed += d),
  };
  const all = prepend(first, events);
  if (call.body.stream !== true) {
    try {
      const completion = await renderJson(all, target);
      return { kind: "json", completion, upstreamMs: waited };
    } catch (err) {
      deps.settle(model, spentSoFar());
      if (err instanceof ApiError) return { kind: "error", error: err.toJSON(), upstreamMs: waited };
      throw err;
    }
  }
  // Settled at "done" with the real usage; a stream that ends before that books what its rounds cost so far (the
  // builtin planner's, which no model read, as its answer would be: the client's messages and the text sent).
  const settle = () => deps.settle(model, spentSoFar() ?? usageOf(prompt, streamed));
  return { kind: "stream", body: toReadable(safely(renderSse(all, target)), abort, settle), upstreamMs: waited };
}

/**
 * Workers AI's text models take string contents: an image, audio or file part would be dropped, and the
 * model would answer a question about a picture it never saw. Refused as OpenAI refuses a part its model
 * cannot take.
 */
function assertTextOnly(messages: ChatCompletionRequest["messages"], model: string) {
  messages.forEach((m, i) => {
    if (!Array.isArray(m.content)) return;
    const j = m.content.findIndex((p) => p.type !== "text");
    if (j < 0) return;
    const type = m.content[j]!.type;
    throw badRequest(`${type} content is not supported by ${model}, the Workers AI model behind cio/auto: send text only.`, `messages[${i}].content[${j}].type`, "unsupported_content");
  });
}

/**
 * OpenAI's deprecated function result answers a `function_call`, which cio/auto's answers never make (they call
 * tools, and the loop links each result to its call by id): it would answer nothing the loop asked.
 */
function assertNoFunctionResults(messages: ChatCompletionRequest["messages"]) {
  const i = messages.findIndex((m) => m.role === "function");
  if (i < 0) return;
  throw badRequest("Role 'function' is not supported by cio/auto, whose answers make tool_calls, not the deprecated function_call: send each result as a 'tool' message with its call's tool_call_id.", `messages[${i}].role`, "unsupported_parameter");
}

const asFunctionTool = (t: RegisteredTool): FunctionTool => ({
  type: "function",
  function: { name: t.name, description: t.manifest.description, parameters: t.manifest.parameters },
});

async function* prepend<T>(first: IteratorResult<T>, rest: AsyncGenerator<T>): AsyncGenerator<T> {
  if (first.done) return;
  yield first.value;
  yield* rest;
}

/** Passes events on and hands the tool calls that ran to `record` once the loop is done. */
async function* recorded(events: AsyncGenerator<AgentEvent>, record: (o: CallOutcome[]) => void): AsyncGenerator<AgentEvent> {
  const outcomes: CallOutcome[] = [];
  try {
    for await (const ev of events) {
      if (ev.type === "tool_end" && ev.ran) outcomes.push({ tool: ev.activity.name, latencyMs: ev.activity.latency_ms, ok: ev.activity.ok, errorCode: ev.activity.error?.code });
      yield ev;
    }
  } finally {
    record(outcomes);
  }
}

/** Keeps a turn that pauses on client tools before the client hears of the calls, so its follow-up cannot outrun the write. */
async function* keepTurn(events: AsyncGenerator<AgentEvent>, keep: (turn: ChatMessage[], calls: ModelToolCall[]) => Promise<void>): AsyncGenerator<AgentEvent> {
  for await (const ev of events) {
    if (ev.type === "client_tool_calls") await keep(ev.turn, ev.calls);
    yield ev;
  }
}

