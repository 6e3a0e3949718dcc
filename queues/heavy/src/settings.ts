import { z } from "zod";
import { envInt, envList, envLogLevel, envValue, loadSettings } from "../../../lib/config.js";

export const HeavySettingsSchema = z.object({
  CIO_LOG_LEVEL: envLogLevel(),
  /** The dead-letter queue's name: batches from it are failures to record, not jobs to run. */
  CIO_HEAVY_DLQ: envValue(z.string().default("heavy-dlq")),
  /** Retry backoff: base * 2^(attempt-1) seconds, capped. The number of retries is the queue's max_retries. */
  CIO_HEAVY_RETRY_BASE_S: envInt(5, 0, 3600),
  CIO_HEAVY_RETRY_MAX_S: envInt(600, 0, 43_200),
  /** Least time between two progress writes (D1 row and session event) of one task. */
  CIO_HEAVY_PROGRESS_MS: envInt(1000, 0),
  /** File analysis: counters kept per column for top values, how many are reported, group cap, column cap. */
  CIO_ANALYSIS_TOP_CAPACITY: envInt(256, 8, 100_000),
  CIO_ANALYSIS_TOP_N: envInt(10, 1, 1000),
  CIO_ANALYSIS_MAX_GROUPS: envInt(10_000, 1, 1_000_000),
  CIO_ANALYSIS_MAX_COLUMNS: envInt(500, 1, 16_384),
  /** Longest CSV row (characters) the analysis holds; a longer one fails the task as invalid_csv, not the Worker. */
  CIO_ANALYSIS_MAX_ROW_CHARS: envInt(8 * 1024 * 1024, 1024, 64 * 1024 * 1024),
  /** Characters of an XLSX workbook's shared-strings table the analysis holds while it reads the sheet (each string
   * counting 2 more, for its offset; at most about 2 bytes each): a larger table fails the task as xlsx_too_large
   * instead of running the isolate out of memory. At 16 Mi the whole analysis of a table at the bound peaked at
   * 59 MB of heap (two-byte text; 42 MB ASCII) in a thread capped like the isolate; two-byte text at 32 Mi ran out. */
  CIO_ANALYSIS_MAX_SHARED_STRING_CHARS: envInt(16 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
  /** CSV analysis reads the file in ranges of this size: R2 body streams (local R2 above all) arrive in small
   * chunks whose per-chunk cost dominated the analysis; one MB per read stays far inside the 128 MB limit. */
  CIO_ANALYSIS_READ_BYTES: envInt(1024 * 1024, 64 * 1024, 32 * 1024 * 1024),
  /** Batches: requests per queue message, parts in flight at once, requests in flight within a part. */
  CIO_BATCH_PART_SIZE: envInt(50, 1, 10_000),
  /** A part also ends at this many bytes of input: a part's lines are held whole, and a consumer invocation
   * takes several parts, so 50 requests of a few MB each (images, long documents) ran it out of memory. */
  CIO_BATCH_PART_MAX_BYTES: envInt(8 * 1024 * 1024, 1024, 64 * 1024 * 1024),
  /** Longest batch input line (bytes, its line break not counted), as the gateway's CIO_MAX_BODY_BYTES bounds a chat
   * request: a longer one fails the batch in validation as line_too_large, and is never held whole. */
  CIO_BATCH_MAX_LINE_BYTES: envInt(1024 * 1024, 1024, 64 * 1024 * 1024),
  CIO_BATCH_MAX_PARTS_IN_FLIGHT: envInt(4, 1, 1000),
  CIO_BATCH_PART_CONCURRENCY: envInt(8, 1, 256),
  CIO_BATCH_MAX_REQUESTS: envInt(50_000, 1),
  /** How long a batch part or a chat_completion task waits in-process for the tenant's rate limiter before it
   * goes back to the queue, delayed. */
  CIO_BATCH_RATE_WAIT_MS: envInt(10_000, 0),
  /** A running part looks at most this often whether its batch was cancelled before it starts another request. */
  CIO_BATCH_CANCEL_CHECK_MS: envInt(1_000, 0, 60_000),
  /** A running task's or batch part's claim not given back by then is dead and the task or part may be taken over (a
   * duplicate delivery that finds a younger one is retried once it ends). Longer than the 15 minutes a queue consumer
   * invocation may run, so a claim that old belongs to an invocation that no longer runs, and a model call it made
   * cannot still be running. At most 12 h, below the orchestrator's least CIO_TASK_LOST_AFTER_S (1 day): a task the
   * hourly sweep fails as lost was untouched that long, so its claim has expired. */
  CIO_BATCH_CLAIM_TTL_MS: envInt(20 * 60_000, 1000, 12 * 3600_000),
  /** A concurrency slot a batch request or chat_completion task took and never gave back is freed after this
   * (the gateway's setting of the same name, for the same slots). */
  CIO_LEASE_TTL_MS: envInt(15 * 60_000, 1000),
  /** Image tasks: the Workers AI text-to-image model when a task names none, and the others a task may name. */
  CIO_IMAGE_MODEL: envValue(z.string().regex(/^@cf\//).default("@cf/black-forest-labs/flux-1-schnell")),
  CIO_IMAGE_MODELS: envList(),
  /** Diffusion steps when a task gives none (flux-1-schnell takes 1-8). */
  CIO_IMAGE_STEPS: envInt(4, 1, 20),
  /** Longest wait for the model; past it the attempt fails as retryable, so a stuck call cannot hold the task. */
  CIO_IMAGE_TIMEOUT_MS: envInt(120_000, 100, 600_000),
  /** Tokens a generated picture counts as against the tenant's daily budget and in its usage (its prompt comes on top). */
  CIO_IMAGE_TOKENS: envInt(1_000, 0),
});
export type HeavySettings = z.infer<typeof HeavySettingsSchema>;

export const heavySettings = (env: object) => loadSettings(HeavySettingsSchema, env);

/** The image models a task may name: the default one and the allowed others. */
export const imageModels = (s: HeavySettings) => [s.CIO_IMAGE_MODEL, ...s.CIO_IMAGE_MODELS.filter((m) => m !== s.CIO_IMAGE_MODEL)];

/** Exponential backoff for the n-th failed attempt (1-based). */
export const backoffSeconds = (s: HeavySettings, attempt: number) =>
  Math.min(s.CIO_HEAVY_RETRY_MAX_S, s.CIO_HEAVY_RETRY_BASE_S * 2 ** Math.max(0, attempt - 1));
