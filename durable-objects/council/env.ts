import type { ToolService } from "../../lib/protocol/tool.js";
import type { AiBinding } from "../../workers/orchestrator/src/providers/workers-ai/index.js";

export type { ToolService };

/** What CouncilDO and the council code need from the orchestrator's env. */
export interface CouncilEnv {
  DB: D1Database;
  AI?: AiBinding;
  COUNCILS: DurableObjectNamespace<import("./index.js").CouncilDO>;
  /** Councils publish to a session only when it is bound (and the council was started from one). */
  SESSIONS?: DurableObjectNamespace<import("../session/index.js").SessionDO>;
  /** The tenant's limiter, which books the assistants' tokens against its daily budget. */
  RATE_LIMITER?: DurableObjectNamespace<import("../rate-limiter/index.js").RateLimiterDO>;
  TOOL_MARKET_DATA?: ToolService;
  TOOL_TECHNICAL_ANALYSIS?: ToolService;
  TOOL_WEB_SEARCH?: ToolService;
  CIO_LOG_LEVEL?: string;
  CIO_UPSTREAM_API_KEY?: string;
  CIO_UPSTREAM_TIMEOUT_MS?: string;
  CIO_UPSTREAM_ANSWER_TIMEOUT_MS?: string;
  CIO_UPSTREAM_IDLE_TIMEOUT_MS?: string;
  CIO_UPSTREAM_RETRIES?: string;
  CIO_UPSTREAM_RETRY_BASE_MS?: string;
  CIO_UPSTREAM_RETRY_MAX_WAIT_MS?: string;
}
