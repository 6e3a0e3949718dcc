/** Passthrough models: the request goes to the configured OpenAI-compatible upstream as it came. */
import { ApiError } from "../../../../lib/errors.js";
import type { Logger } from "../../../../lib/log.js";
import type { ChatCall, ChatCompletion, ChatReply, Usage } from "../../../../lib/protocol/index.js";
import type { OrchestratorEnv } from "../env.js";
import { completionOf, postChat, type UpstreamConfig } from "../providers/openai-compatible/client.js";
import { relay } from "../providers/openai-compatible/relay.js";
import { saneUsage } from "../providers/provider.js";
import { promptText, writtenText } from "../estimate.js";
import { pipelineAbort, toReadable } from "../stream.js";
import { completionId, usageOf } from "../wire.js";

export interface PipelineDeps {
  log: Logger;
  /**
   * Ends the call: frees its slot and books its usage, off the answer's path (ctx.waitUntil underneath).
   * Called exactly once per call; a stream calls it when it ends, however it ends.
   */
  settle: (model: string, u?: Usage) => void;
  env: OrchestratorEnv;
  /** Work that must finish after the answer (ctx.waitUntil): learning records, for instance. */
  waitUntil: (p: Promise<unknown>) => void;
  /** Aborts when the caller no longer waits for the answer (a session turn stopped); the work stops with it. */
  stopped?: AbortSignal;
}

export async function passthrough(call: ChatCall, upstream: UpstreamConfig, deps: PipelineDeps): Promise<ChatReply> {
  const { session_id: _session, ...body } = call.body;
  const stream = body.stream === true;
  const includeUsage = body.stream_options?.include_usage === true;
  const id = completionId();
  const abort = pipelineAbort(deps.stopped);
  const upstreamBody = stream ? { ...body, stream_options: { ...body.stream_options, include_usage: true } } : body;
  let res;
  try {
    res = await postChat(upstream, upstreamBody, abort.signal, deps.log, call.requestId);
  } catch (err) {
    deps.settle(call.body.model);
    if (err instanceof ApiError) return { kind: "error", error: err.toJSON(), upstreamMs: 0 };
    throw err;
  }
  const prompt = promptText(call.body.messages, call.body.tools);
  if (!stream) return json(res.response, call.body.model, prompt, res.ms, deps);
  let usage: Usage | undefined;
  let answered = "";
  const gen = relay(res.response.body!, { id, model: call.body.model, includeUsage, promptText: prompt, onUsage: (u) => (usage = u), onWritten: (t) => (answered += t) });
  // A stream cut short (its client went away) books an estimate of what was asked and answered so far: the
  // upstream bills those tokens, and the daily budget must see them.
  const settle = () => deps.settle(call.body.model, usage ?? usageOf(prompt, answered));
  return { kind: "stream", body: toReadable(gen, abort, settle), upstreamMs: res.ms };
}

async function json(res: Response, model: string, prompt: string, ms: number, deps: PipelineDeps): Promise<ChatReply> {
  const started = Date.now();
  let completion: ChatCompletion;
  try {
    completion = await completionOf(res);
  } catch (err) {
    deps.settle(model);
    if (err instanceof ApiError) return { kind: "error", error: err.toJSON(), upstreamMs: ms + (Date.now() - started) };
    throw err;
  }
  const text = completion.choices.map((c) => (c.message ? writtenText(c.message) : "")).join("\n");
  // The upstream's usage is taken only when it is sane: strings or negative counts would corrupt the tenant's
  // totals (or fail the booking and lose it), so they are replaced, for the client too, by our estimate.
  completion.usage = saneUsage(completion.usage) ?? usageOf(prompt, text);
  completion.model = model;
  deps.settle(model, completion.usage);
  return { kind: "json", completion, upstreamMs: ms + (Date.now() - started) };
}
