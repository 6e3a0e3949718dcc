/** Tools served by the orchestrator itself; the registry seeds them beside the service-bound tool Workers. */
import { analyzeFile } from "./analyze-file.js";
import type { LocalTool } from "./local-tool.js";
import { sqlTool } from "./sql/index.js";

export const LOCAL_TOOLS: LocalTool[] = [sqlTool, analyzeFile];
