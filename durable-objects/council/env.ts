import type { ToolInput, ToolResult } from "../../lib/protocol/tool.js";

/** A tool Worker as seen through a service binding. */
export interface ToolService {
  execute(input: ToolInput): Promise<ToolResult>;
}

/** What CouncilDO and the council code need from the orchestrator's env. */
export interface CouncilEnv {
  DB: D1Database;
  COUNCILS: DurableObjectNamespace<import("./index.js").CouncilDO>;
  /** Councils publish to a session only when it is bound (and the council was started from one). */
  SESSIONS?: DurableObjectNamespace<import("../session/index.js").SessionDO>;
  TOOL_MARKET_DATA?: ToolService;
  TOOL_TECHNICAL_ANALYSIS?: ToolService;
  TOOL_WEB_SEARCH?: ToolService;
  CIO_LOG_LEVEL?: string;
  CIO_UPSTREAM_API_KEY?: string;
  CIO_UPSTREAM_TIMEOUT_MS?: string;
  CIO_UPSTREAM_RETRIES?: string;
  CIO_UPSTREAM_RETRY_BASE_MS?: string;
}
