/**
 * What the client's request allows of one round's calls, settled by the agent loop before any call is recorded,
 * run or handed to the client: the model behind cio/auto does not always keep to it.
 */
import type { ModelParams, ModelToolCall } from "../providers/provider.js";

/**
 * `parallel_tool_calls: false` is OpenAI's promise of at most one call per answer. Workers AI takes no such
 * parameter, and OpenAI-compatible servers may ignore it (Ollama, vLLM): a round that makes several keeps its
 * first. The others are dropped before they join the conversation, so it reads as if the model had made one
 * call (every call in it has its result), and the model asks for the next in a later round if it still needs it.
 */
export const keptCalls = (calls: ModelToolCall[], params: ModelParams): ModelToolCall[] =>
  params.parallel_tool_calls === false ? calls.slice(0, 1) : calls;
