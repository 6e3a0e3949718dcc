/**
 * CIO_PROVIDER picks the model behind `cio/auto`: workers-ai (the AI binding), openai (the configured
 * OpenAI-compatible upstream) or builtin. `auto` takes the first of those that is configured, so a fresh
 * machine with nothing configured answers through builtin, offline.
 */
import { serverError } from "../../../../lib/errors.js";
import type { Logger } from "../../../../lib/log.js";
import type { OrchestratorEnv } from "../env.js";
import type { OrchestratorSettings } from "../settings.js";
import { upstreamConfig } from "../upstream.js";
import { builtinProvider, type BuiltinOptions } from "./builtin/planner.js";
import { openAiProvider } from "./openai-compatible/provider.js";
import type { ModelProvider } from "./provider.js";
import { workersAiProvider } from "./workers-ai/index.js";

export type ProviderName = "workers-ai" | "openai" | "builtin";

export function providerName(env: OrchestratorEnv, s: OrchestratorSettings): ProviderName {
  if (s.CIO_PROVIDER !== "auto") return s.CIO_PROVIDER;
  if (env.AI) return "workers-ai";
  if (s.CIO_UPSTREAM_BASE_URL && autoModel(s)) return "openai";
  return "builtin";
}

const autoModel = (s: OrchestratorSettings) => s.CIO_AUTO_MODEL ?? s.CIO_UPSTREAM_MODELS[0];

export function selectProvider(env: OrchestratorEnv, s: OrchestratorSettings, log: Logger, builtin: BuiltinOptions): ModelProvider {
  const name = providerName(env, s);
  if (name === "workers-ai") {
    if (!env.AI) throw serverError("CIO_PROVIDER is workers-ai but the AI binding is not configured.", "provider_unavailable");
    return workersAiProvider(env.AI, s.CIO_WORKERS_AI_MODEL);
  }
  if (name === "openai") {
    const model = autoModel(s);
    if (!s.CIO_UPSTREAM_BASE_URL || !model) {
      throw serverError("CIO_PROVIDER is openai but CIO_UPSTREAM_BASE_URL and CIO_AUTO_MODEL (or CIO_UPSTREAM_MODELS) are not set.", "provider_unavailable");
    }
    return openAiProvider(upstreamConfig(s, s.CIO_UPSTREAM_BASE_URL), model, log);
  }
  return builtinProvider(builtin);
}
