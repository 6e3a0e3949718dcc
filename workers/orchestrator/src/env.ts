import type { CouncilEnv } from "../../../durable-objects/council/env.js";
import type { RateLimiterDO } from "../../../durable-objects/rate-limiter/index.js";

/** The orchestrator's bindings, as declared in its wrangler.toml. */
export interface OrchestratorEnv extends CouncilEnv {
  DB: D1Database;
  RATE_LIMITER: DurableObjectNamespace<RateLimiterDO>;
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
