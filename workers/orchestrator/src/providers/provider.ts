/**
 * One interface for every model behind `cio/auto`: Workers AI, any OpenAI-compatible upstream, and the
 * model-free builtin planner. A provider answers one round of the agent loop as a stream of events, so
 * text can reach the client token by token while tool calls are collected.
 */
import type { ChatMessage, FunctionTool, Usage } from "../../../../lib/protocol/index.js";

/** A tool call the model asked for; `arguments` is the raw JSON text the model wrote. */
export interface ModelToolCall {
  id: string;
  name: string;
  arguments: string;
}

export type ModelEvent =
  | { type: "text"; delta: string }
  | { type: "tool_call"; call: ModelToolCall }
  | { type: "usage"; usage: Usage };

export interface ModelRound {
  messages: ChatMessage[];
  /** Tools the model may call this round; empty on the last round, which must answer in text. */
  tools: FunctionTool[];
  requestId: string;
  signal: AbortSignal;
  /** Whether the client reads a stream; providers may answer a non-streamed request in one piece. */
  stream: boolean;
  /** Client parameters passed through to the model where the provider supports them. */
  params: { temperature?: number | null; top_p?: number | null; max_tokens?: number | null; seed?: number | null };
}

export interface ModelProvider {
  /** "workers-ai" | "openai" | "builtin": reported in the answer's `cio.provider`. */
  readonly name: string;
  /** The model's name as reported in logs and `cio.model`. */
  readonly model: string;
  round(r: ModelRound): AsyncIterable<ModelEvent>;
}

export const newCallId = () => `call_${crypto.randomUUID().replace(/-/g, "").slice(0, 24)}`;
