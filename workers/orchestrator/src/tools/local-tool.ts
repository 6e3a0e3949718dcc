/**
 * A tool that runs inside the orchestrator itself (it needs the orchestrator's own bindings, e.g. the
 * runner hubs for `sql`). Same contract as a tool Worker: a manifest and execute().
 */
import type { ToolInput, ToolManifest, ToolResult } from "../../../../lib/protocol/tool.js";
import type { Scope } from "../../../../lib/scopes.js";
import type { OrchestratorEnv } from "../env.js";

export interface LocalTool {
  manifest: ToolManifest;
  /** Offered only to a key holding every one: the tool reaches what the API guards with them. */
  scopes: readonly Scope[];
  execute(env: OrchestratorEnv, input: ToolInput): Promise<ToolResult>;
}
