import type { CouncilEnv } from "../../../durable-objects/council/env.js";
import type { RateLimiterDO } from "../../../durable-objects/rate-limiter/index.js";
import type { HeavyMessage } from "../../../lib/protocol/heavy.js";
import type { ToolBreakerDO } from "../../../durable-objects/tool-breaker/index.js";
import type { AiBinding } from "./providers/workers-ai/index.js";
import type { ToolService } from "./registry/transports.js";
import type { RunnerHubDO } from "../../../durable-objects/runner-hub/index.js";
import type { SessionDO } from "../../../durable-objects/session/index.js";

/** The orchestrator's bindings, as declared in its wrangler.toml. */
export interface OrchestratorEnv extends CouncilEnv {
  DB: D1Database;
  RATE_LIMITER: DurableObjectNamespace<RateLimiterDO>;
  /** Heavy work the brain hands off (analyze_file) goes to this queue; the files it reads are in FILES. */
  HEAVY_QUEUE: Queue<HeavyMessage>;
  TOOL_BREAKERS: DurableObjectNamespace<ToolBreakerDO>;
  /** Workers AI; optional so the stack runs offline (auto mode then falls back to another provider). */
  AI?: AiBinding;
  /** Tool Workers: every service binding named TOOL_* is seeded into the registry as an RPC tool. */
  TOOL_WEB_SEARCH?: ToolService;
  TOOL_MARKET_DATA?: ToolService;
  TOOL_TECHNICAL_ANALYSIS?: ToolService;
  TOOL_HTTP_JSON?: ToolService;
  TOOL_MEDIA?: ToolService;
  RUNNER_HUBS: DurableObjectNamespace<RunnerHubDO>;
  /** Uploaded files and stored results. */
  FILES: R2Bucket;
  SESSIONS: DurableObjectNamespace<SessionDO>;
  CIO_LOG_LEVEL?: string;
  CIO_PROVIDER?: string;
  CIO_UPSTREAM_BASE_URL?: string;
  CIO_UPSTREAM_API_KEY?: string;
  CIO_UPSTREAM_MODELS?: string;
  CIO_UPSTREAM_TIMEOUT_MS?: string;
  CIO_UPSTREAM_ANSWER_TIMEOUT_MS?: string;
  CIO_UPSTREAM_IDLE_TIMEOUT_MS?: string;
  CIO_UPSTREAM_RETRIES?: string;
  CIO_UPSTREAM_RETRY_BASE_MS?: string;
  CIO_UPSTREAM_RETRY_MAX_WAIT_MS?: string;
  CIO_USAGE_FLUSH_MS?: string;
  CIO_USAGE_COMMIT_MS?: string;
  CIO_SETTLE_BATCH_MS?: string;
  CIO_SLOT_WAIT_MS?: string;
  CIO_TOOL_HMAC_SECRET?: string;
}
