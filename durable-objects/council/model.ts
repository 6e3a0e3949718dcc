/**
 * The assistants' model calls, through the brain's provider interface (one round, no tools, text only),
 * so a council runs on whatever answers `cio/auto`: an assistant's model is looked up among the
 * OpenAI-compatible upstream's models first, then Workers AI when it is bound. The builtin planner
 * cannot take a position, so a deployment without a model cannot convene a council (a clear 400).
 */
import { badRequest } from "../../lib/errors.js";
import type { Logger } from "../../lib/log.js";
import { openAiProvider } from "../../workers/orchestrator/src/providers/openai-compatible/provider.js";
import type { ModelProvider } from "../../workers/orchestrator/src/providers/provider.js";
import { workersAiProvider, type AiBinding } from "../../workers/orchestrator/src/providers/workers-ai/index.js";
import { orchestratorSettings } from "../../workers/orchestrator/src/settings.js";
import { upstreamConfig } from "../../workers/orchestrator/src/upstream.js";
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

export function providerModel(env: ModelEnv, log: Logger, requestId: string): CouncilModel {
  return {
    async complete(req, signal) {
      const provider = providerFor(env, req.model, log);
      let text = "";
      const messages = [
        { role: "system" as const, content: req.system },
        { role: "user" as const, content: req.user },
      ];
      for await (const ev of provider.round({ messages, tools: [], requestId, signal, stream: false, params: { temperature: 0.2 } })) {
        if (ev.type === "text") text += ev.delta;
      }
      return text;
    },
  };
}

function providerFor(env: ModelEnv, model: string, log: Logger): ModelProvider {
  const s = orchestratorSettings(env);
  if (s.CIO_UPSTREAM_BASE_URL && (s.CIO_UPSTREAM_MODELS.includes(model) || !env.AI)) {
    return openAiProvider(upstreamConfig(s, s.CIO_UPSTREAM_BASE_URL), model, log);
  }
  if (env.AI) return workersAiProvider(env.AI, model);
  throw badRequest("Councils need a language model: configure Workers AI or CIO_UPSTREAM_BASE_URL.", null, "no_model_provider");
}

/** The model an assistant uses when it names none. */
export function defaultCouncilModel(env: ModelEnv): string {
  const s = councilSettings(env);
  const o = orchestratorSettings(env);
  const model = s.CIO_COUNCIL_MODEL ?? (o.CIO_UPSTREAM_BASE_URL ? o.CIO_UPSTREAM_MODELS[0] : undefined) ?? (env.AI ? o.CIO_WORKERS_AI_MODEL : undefined);
  if (!model) throw badRequest("Councils need a language model: configure Workers AI, or CIO_UPSTREAM_BASE_URL with CIO_UPSTREAM_MODELS (or CIO_COUNCIL_MODEL).", null, "no_model_provider");
  return model;
}
