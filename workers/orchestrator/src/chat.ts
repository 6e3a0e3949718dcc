/**
 * Answering one chat call: validate it, pick the pipeline by model, and settle its slot and usage exactly
 * once. The orchestrator entrypoint serves it over RPC; Durable Objects in this Worker (sessions, councils)
 * call it directly.
 */
import { z } from "zod";
import { badRequest, notFound } from "../../../lib/errors.js";
import { Logger } from "../../../lib/log.js";
import { ChatCallSchema, type ChatCall, type ChatReply } from "../../../lib/protocol/index.js";
import type { OrchestratorEnv } from "./env.js";
import { listModels } from "./models.js";
import { auto } from "./pipelines/auto.js";
import { council } from "./pipelines/council.js";
import { passthrough, type PipelineDeps } from "./pipelines/passthrough.js";
import { orchestratorSettings, type OrchestratorSettings } from "./settings.js";
import { upstreamConfig } from "./upstream.js";
import { settleBatched, settleLogged } from "./usage.js";

type Ctx = { waitUntil(p: Promise<unknown>): void };

/** `stopped`: for callers in this Worker that may stop waiting (a session turn); its abort stops the work. */
export function runChat(env: OrchestratorEnv, ctx: Ctx, raw: unknown, stopped?: AbortSignal): Promise<ChatReply> {
  return runParsedChat(env, ctx, ChatCallSchema.safeParse(raw), stopped);
}

/** For callers that already parsed the call (the RPC entry, which routes on it first): one parse per call. */
export async function runParsedChat(env: OrchestratorEnv, ctx: Ctx, parsed: z.ZodSafeParseResult<ChatCall>, stopped?: AbortSignal): Promise<ChatReply> {
  if (!parsed.success) return { kind: "error", error: badRequest(z.prettifyError(parsed.error)).toJSON(), upstreamMs: 0 };
  const call = parsed.data;
  const s = orchestratorSettings(env);
  const log = new Logger({ component: "orchestrator", requestId: call.requestId, tenantId: call.tenantId }, s.CIO_LOG_LEVEL);
  const deps: PipelineDeps = { log, settle: settleOnce(env, ctx, call, log, s.CIO_SETTLE_BATCH_MS), env, waitUntil: (p) => ctx.waitUntil(p), stopped };
  try {
    return await route(call, s, deps);
  } catch (err) {
    deps.settle(call.body.model);
    throw err;
  }
}

function route(call: ChatCall, s: OrchestratorSettings, deps: PipelineDeps): Promise<ChatReply> | ChatReply {
  const model = call.body.model;
  if (model === "cio/auto" || model === "cio/council") {
    const param = unsupportedParam(call.body);
    if (param) {
      deps.settle(model);
      const err = badRequest(`Unsupported parameter: '${param}' is not supported with ${model}, whose answer is composed from several models and tools; ask a passthrough model for it.`, param, "unsupported_parameter");
      return { kind: "error", error: err.toJSON(), upstreamMs: 0 };
    }
    return model === "cio/auto" ? auto(call, s, deps) : council(call, deps);
  }
  if (s.CIO_UPSTREAM_BASE_URL && s.CIO_UPSTREAM_MODELS.includes(model)) {
    return passthrough(call, upstreamConfig(s, s.CIO_UPSTREAM_BASE_URL), deps);
  }
  deps.settle(model);
  const known = listModels(s).map((m) => m.id).join(", ");
  const err = notFound(`The model '${model}' does not exist. Available models: ${known}.`, "model_not_found");
  return { kind: "error", error: { ...err.toJSON(), error: { ...err.toBody().error, param: "model" } }, upstreamMs: 0 };
}

/**
 * OpenAI parameters asking for output a composed answer has no honest value for (token log probabilities,
 * spoken audio, several independent choices): refused as OpenAI refuses a parameter its model lacks, rather
 * than answered without them.
 */
function unsupportedParam(body: ChatCall["body"]): string | null {
  const b = body as Record<string, unknown>;
  if (typeof b.n === "number" && b.n > 1) return "n";
  if (b.logprobs === true) return "logprobs";
  if (b.top_logprobs != null) return "top_logprobs";
  if (b.audio != null) return "audio";
  if (Array.isArray(b.modalities) && b.modalities.some((m) => m !== "text")) return "modalities";
  return null;
}

/**
 * The call's one settlement; later calls (a stream's end after an error, say) do nothing. It is promised to
 * the runtime (waitUntil) when the call starts, not when it happens: a stream whose client went away ends
 * after the RPC call has returned, and a settlement only begun then was dropped without an error, so the
 * slot stayed taken until its lease expired (15 minutes by default; test/e2e/dropped-streams.test.ts).
 */
function settleOnce(env: OrchestratorEnv, ctx: Ctx, call: ChatCall, log: Logger, batchMs: number): PipelineDeps["settle"] {
  let settled!: (p: Promise<void>) => void;
  ctx.waitUntil(new Promise<void>((resolve) => (settled = resolve)));
  let done = false;
  return (model, usage) => {
    if (done) return;
    done = true;
    const { tenantId, leaseId } = call;
    settled(batchMs ? settleBatched(env, log, call.requestId, batchMs, { tenantId, leaseId: leaseId ?? null, model, usage }) : settleLogged(env, log, tenantId, leaseId, model, usage));
  };
}

export { upstreamConfig } from "./upstream.js";
