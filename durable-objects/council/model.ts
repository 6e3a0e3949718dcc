/**
 * The assistants' model calls, through the brain's provider interface (one round, no tools, text only).
 * An assistant may name only a model the operator configured (`councilModels`), each answered by the
 * provider that serves it: the OpenAI-compatible upstream's models first, then Workers AI when it is
 * bound. Any other name is refused when the council opens; passed on, it would run on the operator's
 * upstream key or account. The builtin planner cannot take a position, so a deployment without a model
 * cannot convene a council (a clear 400).
 */
import { ApiError, badRequest } from "../../lib/errors.js";
import type { Logger } from "../../lib/log.js";
import type { Usage } from "../../lib/protocol/index.js";
import { openAiProvider } from "../../workers/orchestrator/src/providers/openai-compatible/provider.js";
import type { ModelProvider } from "../../workers/orchestrator/src/providers/provider.js";
import { workersAiProvider, type AiBinding } from "../../workers/orchestrator/src/providers/workers-ai/index.js";
import { orchestratorSettings } from "../../workers/orchestrator/src/settings.js";
import { upstreamConfig } from "../../workers/orchestrator/src/upstream.js";
import type { OrchestratorEnv } from "../../workers/orchestrator/src/env.js";
import { bookCall } from "../../workers/orchestrator/src/usage.js";
import { usageOf } from "../../workers/orchestrator/src/wire.js";
import { refusalError, type CouncilRefusal } from "./admission.js";
import type { CouncilEnv } from "./env.js";
import { councilSettings } from "./settings.js";

export interface ModelRequest {
  model: string;
  system: string;
  user: string;
}

export interface CouncilModel {
  /** The model's text answer; throws an ApiError when the provider failed after its retries. */
  complete(req: ModelRequest, signal: AbortSignal): Promise<string>;
}

type ModelEnv = object & { AI?: AiBinding };
type Route = "upstream" | "workers-ai";

/** The models a council may call, each with its provider, in the order they are offered. */
export function councilModels(env: ModelEnv): Map<string, Route> {
  const o = orchestratorSettings(env);
  const routes = new Map<string, Route>();
  if (o.CIO_UPSTREAM_BASE_URL) for (const m of [...o.CIO_UPSTREAM_MODELS, o.CIO_AUTO_MODEL]) if (m) routes.set(m, "upstream");
  if (env.AI && !routes.has(o.CIO_WORKERS_AI_MODEL)) routes.set(o.CIO_WORKERS_AI_MODEL, "workers-ai");
  // The council's own default may be a name listed nowhere else: Workers AI's when it is bound, else the upstream's.
  const own = councilSettings(env).CIO_COUNCIL_MODEL;
  if (own && !routes.has(own) && (env.AI || o.CIO_UPSTREAM_BASE_URL)) routes.set(own, env.AI ? "workers-ai" : "upstream");
  return routes;
}

/** Refuses a council whose assistants name a model it may not call (400, naming the field and the choices). */
export function assertCouncilModels(env: ModelEnv, assistants: { model?: string }[]) {
  const allowed = councilModels(env);
  assistants.forEach(({ model }, i) => {
    if (model === undefined || allowed.has(model)) return;
    if (!allowed.size) throw noModelProvider();
    const param = `assistants[${i}].model`;
    throw badRequest(`${param}: '${model}' is not a model councils may use. Allowed models: ${[...allowed.keys()].join(", ")}.`, param, "model_not_found");
  });
}

/**
 * One per step (a round): its calls share the step's admission, asked before it (index.ts `model`). Admitted
 * step by step: a council opened under budget ran all its rounds past it, and on after a suspension. A refusal
 * fails each call, as the assistant's model failing would.
 */
export function providerModel(env: ModelEnv & Pick<CouncilEnv, "RATE_LIMITER">, log: Logger, tenantId: string, requestId: string, refused: CouncilRefusal | null): CouncilModel {
  return {
    async complete(req, signal) {
      const provider = providerFor(env, req.model, log);
      if (refused) throw refusalError(refused);
      let text = "";
      let usage: Usage | undefined;
      const messages = [
        { role: "system" as const, content: req.system },
        { role: "user" as const, content: req.user },
      ];
      for await (const ev of provider.round({ messages, tools: [], requestId, signal, stream: false, params: { temperature: 0.2 } })) {
        if (ev.type === "text") text += ev.delta;
        if (ev.type === "usage") usage = ev.usage;
      }
      // The upstream's usage when it is sane (the provider drops any other), else our estimate.
      await book(env, log, tenantId, req.model, usage ?? usageOf(`${req.system}\n${req.user}`, text));
      return text;
    },
  };
}

/** The tenant pays for its councils' model calls like for its chats (bookCall). */
async function book(env: Pick<CouncilEnv, "RATE_LIMITER">, log: Logger, tenantId: string, model: string, usage: Usage) {
  if (env.RATE_LIMITER) await bookCall(env as Pick<OrchestratorEnv, "RATE_LIMITER">, log, "council model", tenantId, model, usage);
}

function providerFor(env: ModelEnv, model: string, log: Logger): ModelProvider {
  const s = orchestratorSettings(env);
  const models = councilModels(env);
  const route = models.get(model);
  if (route === "upstream" && s.CIO_UPSTREAM_BASE_URL) return openAiProvider(upstreamConfig(s, s.CIO_UPSTREAM_BASE_URL), model, log);
  if (route === "workers-ai" && env.AI) return workersAiProvider(env.AI, model);
  // Only a council seated before the configuration changed gets here: its assistant abstains.
  throw models.size ? badRequest(`The model '${model}' is not offered to councils.`, "model", "model_not_found") : noModelProvider();
}

/** The deployment's configuration, not the request, is what is missing: 501, as an image task without Workers AI. */
const noModelProvider = () =>
  new ApiError(501, "server_error", "Councils need a language model: configure Workers AI, or CIO_UPSTREAM_BASE_URL with CIO_UPSTREAM_MODELS (or CIO_COUNCIL_MODEL).", "no_model_provider");

/** The model an assistant uses when it names none. */
export function defaultCouncilModel(env: ModelEnv): string {
  const s = councilSettings(env);
  const o = orchestratorSettings(env);
  // CIO_AUTO_MODEL last among the upstream's: a deployment may name no passthrough model, only that one.
  const model = s.CIO_COUNCIL_MODEL ?? (o.CIO_UPSTREAM_BASE_URL ? (o.CIO_UPSTREAM_MODELS[0] ?? o.CIO_AUTO_MODEL) : undefined) ?? (env.AI ? o.CIO_WORKERS_AI_MODEL : undefined);
  if (!model) throw noModelProvider();
  return model;
}
