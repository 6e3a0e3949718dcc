import { z } from "zod";
import { envInt, envList, envLogLevel, envOptionalString, envValue, loadSettings } from "../../../lib/config.js";

export const DEFAULT_SYSTEM_PROMPT =
  "You are CIO Edge, a concise assistant with tools. Call a tool when it gives a better answer than you can " +
  "from memory; call several at once when they are independent. Answer from the tool results and quote their " +
  "numbers exactly. If a tool failed, say so briefly and answer without it.";

export const OrchestratorSettingsSchema = z.object({
  CIO_LOG_LEVEL: envLogLevel(),
  /** Which model provider answers `cio/auto`; `auto` picks Workers AI when bound, else the upstream, else builtin. */
  CIO_PROVIDER: envValue(z.enum(["auto", "workers-ai", "openai", "builtin"]).default("auto")),
  CIO_UPSTREAM_BASE_URL: envOptionalString(),
  CIO_UPSTREAM_API_KEY: envOptionalString(),
  /** Model names offered as passthrough to the upstream, e.g. "gpt-4o-mini,llama3.1". */
  CIO_UPSTREAM_MODELS: envList(),
  /** Time to wait for the upstream's response headers on a streamed call (they come before the first token). */
  CIO_UPSTREAM_TIMEOUT_MS: envInt(60_000, 100, 600_000),
  /**
   * Time to wait for a non-streamed answer, whose headers come only with the whole answer: a long generation
   * (a reasoning model, a large max_completion_tokens) takes minutes. OpenAI's SDKs wait 10 minutes.
   */
  CIO_UPSTREAM_ANSWER_TIMEOUT_MS: envInt(600_000, 100, 3_600_000),
  /**
   * Time a streamed answer may go without a chunk once its headers came: a stalled upstream then ends the stream
   * with an error and frees its slot. Reasoning models stream their thinking (or keep-alive comments), so a
   * gap of minutes is a stall, not a slow answer.
   */
  CIO_UPSTREAM_IDLE_TIMEOUT_MS: envInt(120_000, 100, 3_600_000),
  /** Retries of an upstream call that failed before the upstream answered (connect errors, 5xx), never of one that timed out. */
  CIO_UPSTREAM_RETRIES: envInt(2, 0, 10),
  CIO_UPSTREAM_RETRY_BASE_MS: envInt(200, 1, 60_000),
  /** An upstream 429 asking for a longer wait than this goes to the client at once, with its retry headers. */
  CIO_UPSTREAM_RETRY_MAX_WAIT_MS: envInt(2_000, 0, 60_000),
  /**
   * Answers of one tenant that end within this many ms of each other free their slots and book their usage in
   * one call to the tenant's limiter instead of one call each (0: each its own call, at once). A slot then
   * frees up to this much later; the limiter's CIO_SLOT_WAIT_MS must cover that, or a client running at its
   * concurrency limit (one request at a time on a key limited to one, say) gets 429s.
   */
  CIO_SETTLE_BATCH_MS: envInt(5, 0, 1000),
  /** The upstream model behind `cio/auto` with the openai provider; default the first passthrough model. */
  CIO_AUTO_MODEL: envOptionalString(),
  /** A Workers AI model with function calling. */
  CIO_WORKERS_AI_MODEL: envValue(z.string().default("@cf/meta/llama-3.3-70b-instruct-fp8-fast")),
  CIO_SYSTEM_PROMPT: envValue(z.string().default(DEFAULT_SYSTEM_PROMPT)),
  /** Model rounds per answer; the last round offers no tools of ours, so the model must answer. */
  CIO_MAX_STEPS: envInt(4, 1, 16),
  /** At most this many of our tools are offered to the model, best-ranked first. */
  CIO_MAX_TOOLS_OFFERED: envInt(16, 1, 128),
  /** Upper bound on any one tool call, whatever its manifest says. */
  CIO_TOOL_TIMEOUT_MS: envInt(30_000, 10, 300_000),
  /** Retries of a tool call that failed with a retryable error, with exponential backoff and jitter. */
  CIO_TOOL_RETRIES: envInt(2, 0, 10),
  CIO_TOOL_RETRY_BASE_MS: envInt(100, 1, 60_000),
  /**
   * The longest wait a tool's 429 may ask for (Retry-After) and still be retried within the answer; a longer
   * one goes to the model, which can tell the user when to try again. Also capped by the tool's own timeout.
   */
  CIO_TOOL_RETRY_MAX_WAIT_MS: envInt(2_000, 0, 60_000),
  /** Tool calls of ours run per model round; the model is told the rest were not run (too_many_calls). */
  CIO_MAX_TOOL_CALLS_PER_ROUND: envInt(8, 1, 128),
  /** Characters of one tool result (or error message) put in the model's context; the rest is cut with a note. */
  CIO_TOOL_MAX_CONTENT_CHARS: envInt(32_000, 1_000, 1_000_000),
  /**
   * Characters all the tool results of one round put in the model's context together: short results keep
   * everything, long ones share the rest equally, each cut with a note that says so.
   */
  CIO_TOOL_MAX_ROUND_CHARS: envInt(64_000, 1_000, 8_000_000),
  /** Bytes of an HTTPS tool's answer read at most; a longer one is a failed call (tool_response_too_large). */
  CIO_TOOL_MAX_RESPONSE_BYTES: envInt(4_194_304, 1_024, 33_554_432),
  /** Circuit breaker: consecutive failures that open it, and the cool-down before a half-open probe. */
  CIO_BREAKER_THRESHOLD: envInt(5, 1, 1000),
  CIO_BREAKER_COOLDOWN_MS: envInt(30_000, 10, 3_600_000),
  /** How long an isolate trusts its view of a closed breaker before asking the shared object again. */
  CIO_BREAKER_SYNC_MS: envInt(1_000, 0, 60_000),
  /** How long an isolate keeps a caller key's scopes (the gateway's key lookups are kept as long; at most 30 s). */
  CIO_KEY_CACHE_TTL_S: envInt(30, 0, 30),
  /** How long an isolate keeps a tenant's tool list and statistics before reading D1 again. */
  CIO_REGISTRY_TTL_MS: envInt(5_000, 0, 600_000),
  /** Tenants whose tools an isolate keeps at most; the least recently used goes first (one isolate serves many tenants). */
  CIO_REGISTRY_CACHE_TENANTS: envInt(1_000, 1, 100_000),
  /** How long a turn paused on a client tool keeps our own tool results for the client's follow-up. */
  CIO_CONTINUATION_TTL_MS: envInt(86_400_000, 60_000, 30 * 86_400_000),
  /** Shared secret for HTTPS tools: requests are signed with HMAC-SHA256 over `${timestamp}.${body}`. */
  CIO_TOOL_HMAC_SECRET: envOptionalString(),
  /** Weight of the newest observation in the tools' moving averages (success, latency, rating). */
  CIO_LEARNING_ALPHA: envValue(z.coerce.number().gt(0).max(1).default(0.2)),
  /** Tool calls are written to D1 in one batch per isolate this long after the first of them (0: at once, per answer). */
  CIO_LEARNING_FLUSH_MS: envInt(250, 0, 10_000),
  /** A batch this large is written without waiting for the window to end. */
  CIO_LEARNING_BATCH_MAX: envInt(100, 1, 1000),
  /**
   * Tool calls and ratings (tool_calls, tool_feedback) are deleted this long after they were made; 0 keeps them
   * for good. The tools' averages (tool_stats) have folded them in already and stay; a rating of an answer whose
   * calls are gone is a 404.
   */
  CIO_LEARNING_RETENTION_S: envInt(7_776_000, 0),
  /** Old rows (tool calls, ratings, expired continuations) deleted per table per hourly sweep at most; the rest wait. */
  CIO_ROWS_SWEEP_MAX: envInt(50_000, 1, 1_000_000),
  /** Expired files (OpenAI's expires_after) deleted per hourly sweep at most; the rest wait for the next. */
  CIO_FILES_SWEEP_MAX: envInt(5_000, 1, 100_000),
  /**
   * A task still queued or running and untouched after this long has no message left to move it (Queues keeps
   * one 4 days by default); the hourly cron fails it as task_lost, or sends a batch's planning message again
   * (lib/heavy/lost-tasks.ts). Above the longest rate-limit wait (12 h) by design.
   */
  CIO_TASK_LOST_AFTER_S: envInt(345_600, 86_400, 1_209_600),
  /** A finished task (row, input, result) is deleted this long after it ended; 0 keeps tasks for good. */
  CIO_TASK_RETENTION_S: envInt(2_592_000, 0),
  /** Tasks past their retention deleted per hourly sweep at most; the rest wait for the next. */
  CIO_TASKS_SWEEP_MAX: envInt(5_000, 1, 100_000),
  /**
   * A deleted file, task or session is remembered this long (its id and created_at, in deleted_rows), so a list's
   * `after` cursor naming it still finds its place (a client deleting what it lists); then the hourly cron forgets it.
   */
  CIO_DELETED_CURSOR_TTL_S: envInt(86_400, 3_600, 2_592_000),
  /** BM25 score below which the builtin planner considers a tool irrelevant. */
  CIO_BUILTIN_MIN_SCORE: envValue(z.coerce.number().min(0).default(0.5)),
});
export type OrchestratorSettings = z.infer<typeof OrchestratorSettingsSchema>;

export const orchestratorSettings = (env: object) => loadSettings(OrchestratorSettingsSchema, env);
