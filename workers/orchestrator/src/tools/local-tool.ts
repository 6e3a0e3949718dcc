/**
 * A tool that runs inside the orchestrator itself (it needs the orchestrator's own bindings, e.g. the
 * runner hubs for `sql`). Same contract as a tool Worker: a manifest and execute().
 */
import type { ToolInput, ToolManifest, ToolResult } from "../../../../lib/protocol/tool.js";
import type { Scope } from "../../../../lib/scopes.js";
import type { OrchestratorEnv } from "../env.js";

/**
 * What a local tool is called with: a tool Worker's input, and the API key of the call, which stays inside the
 * orchestrator (it is never sent to a tool elsewhere). Work a tool starts on the key's behalf is stored under
 * it, as the API stores it, so that revoking the key stops it.
 */
export type LocalToolInput = ToolInput & { keyId?: string };

export interface LocalTool {
  manifest: ToolManifest;
  /** Offered only to a key holding every one: the tool reaches what the API guards with them. */
  scopes: readonly Scope[];
  execute(env: OrchestratorEnv, input: LocalToolInput): Promise<ToolResult>;
}
