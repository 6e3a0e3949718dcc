import type { RateLimiterDO } from "../../../durable-objects/rate-limiter/index.js";
import type { HeavyMessage } from "../../../lib/protocol/heavy.js";

/** The orchestrator's bindings, as declared in its wrangler.toml. */
export interface OrchestratorEnv {
  DB: D1Database;
  RATE_LIMITER: DurableObjectNamespace<RateLimiterDO>;
  /** Heavy work the brain hands off (analyze_file): the queue and the bucket of uploaded files. */
  HEAVY_QUEUE: Queue<HeavyMessage>;
  FILES: R2Bucket;
  CIO_LOG_LEVEL?: string;
  CIO_PROVIDER?: string;
  CIO_UPSTREAM_BASE_URL?: string;
  CIO_UPSTREAM_API_KEY?: string;
  CIO_UPSTREAM_MODELS?: string;
  CIO_UPSTREAM_TIMEOUT_MS?: string;
  CIO_UPSTREAM_RETRIES?: string;
  CIO_UPSTREAM_RETRY_BASE_MS?: string;
  CIO_USAGE_FLUSH_MS?: string;
}
