import { z } from "zod";
import { envInt, envList, envLogLevel, envOptionalString, loadSettings } from "../../../lib/config.js";

export const OrchestratorSettingsSchema = z.object({
  CIO_LOG_LEVEL: envLogLevel(),
  /** Which model provider answers `cio/auto`; `auto` picks the first one configured, else builtin. */
  CIO_PROVIDER: z.enum(["auto", "workers-ai", "openai", "builtin"]).default("auto"),
  CIO_UPSTREAM_BASE_URL: envOptionalString(),
  CIO_UPSTREAM_API_KEY: envOptionalString(),
  /** Model names offered as passthrough to the upstream, e.g. "gpt-4o-mini,llama3.1". */
  CIO_UPSTREAM_MODELS: envList(),
  /** Time to wait for the upstream's response headers. */
  CIO_UPSTREAM_TIMEOUT_MS: envInt(60_000, 100, 600_000),
  /** Retries of an upstream call that failed before any byte was answered (connect errors, 5xx). */
  CIO_UPSTREAM_RETRIES: envInt(2, 0, 10),
  CIO_UPSTREAM_RETRY_BASE_MS: envInt(200, 1, 60_000),
});
export type OrchestratorSettings = z.infer<typeof OrchestratorSettingsSchema>;

export const orchestratorSettings = (env: object) => loadSettings(OrchestratorSettingsSchema, env);
