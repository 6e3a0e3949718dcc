/** What the agent loop reports while it works; the pipeline renders it as JSON or as SSE. */
import type { ChatMessage, Usage } from "../../../../lib/protocol/index.js";
import type { ModelToolCall } from "../providers/provider.js";

/** One tool call as the client sees it in `cio.tools`. */
export interface ToolActivity {
  name: string;
  arguments: unknown;
  latency_ms: number;
  ok: boolean;
  error?: { code: string; message: string };
}

export interface CioInfo {
  provider: string;
  model: string;
  steps: number;
  tools: ToolActivity[];
}

export type AgentEvent =
  | { type: "text"; delta: string }
  /** The model's refusal, which the client reads as message.refusal (delta.refusal in a stream). */
  | { type: "refusal"; delta: string }
  | { type: "tool_start"; name: string; arguments: string }
  | { type: "tool_end"; activity: ToolActivity; /** The tool actually ran (not refused before the call): such calls are recorded for learning. */ ran: boolean }
  | { type: "client_tool_calls"; calls: ModelToolCall[]; /** This turn's messages as the model saw them (kept for the client's follow-up). */ turn: ChatMessage[] }
  | { type: "done"; finish: "stop" | "tool_calls" | "length" | "content_filter"; usage?: Usage; cio: CioInfo };
