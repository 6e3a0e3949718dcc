/** Tools served by the orchestrator itself; the registry seeds them beside the service-bound tool Workers. */
import { hasScope } from "../../../../lib/scopes.js";
import type { RegisteredTool } from "../registry/transports.js";
import { analyzeFile } from "./analyze-file.js";
import type { LocalTool } from "./local-tool.js";
import { sqlTool } from "./sql/index.js";

export const LOCAL_TOOLS: LocalTool[] = [sqlTool, analyzeFile];

/** Whether a key with `scopes` may be offered `tool`: a local one needs the scopes of what it reaches. */
export function offerableWith(scopes: readonly string[]): (tool: RegisteredTool) => boolean {
  return (tool) => {
    if (tool.transport !== "local") return true;
    const local = LOCAL_TOOLS.find((t) => t.manifest.name === tool.target);
    return local !== undefined && local.scopes.every((s) => hasScope(scopes, s));
  };
}
