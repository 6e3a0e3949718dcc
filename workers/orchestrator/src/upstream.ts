import type { UpstreamConfig } from "./providers/openai-compatible/client.js";
import type { OrchestratorSettings } from "./settings.js";

/** The OpenAI-compatible upstream's connection settings, shared by passthrough models and the openai provider. */
export function upstreamConfig(s: OrchestratorSettings, baseUrl: string): UpstreamConfig {
  return {
    baseUrl,
    apiKey: s.CIO_UPSTREAM_API_KEY,
    timeoutMs: s.CIO_UPSTREAM_TIMEOUT_MS,
    answerTimeoutMs: s.CIO_UPSTREAM_ANSWER_TIMEOUT_MS,
    idleTimeoutMs: s.CIO_UPSTREAM_IDLE_TIMEOUT_MS,
    retries: s.CIO_UPSTREAM_RETRIES,
    retryBaseMs: s.CIO_UPSTREAM_RETRY_BASE_MS,
    retryMaxWaitMs: s.CIO_UPSTREAM_RETRY_MAX_WAIT_MS,
  };
}
