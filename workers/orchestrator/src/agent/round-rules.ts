/**
 * What the client's request allows of one round's calls, settled by the agent loop before any call is recorded,
 * run or handed to the client: the model behind cio/auto does not always keep to it. A call these rules refuse
 * is answered to the model as not run, and is no failure of its tool: the answer's closing note leaves it out.
 */
import { refused, type DispatchResult } from "../dispatcher/index.js";
import type { ForcedChoice, ModelParams, ModelToolCall } from "../providers/provider.js";

/**
 * `parallel_tool_calls: false` is OpenAI's promise of at most one call per answer. Workers AI takes no such
 * parameter, and OpenAI-compatible servers may ignore it (Ollama, vLLM): a round that makes several keeps its
 * first. The others are dropped before they join the conversation, so it reads as if the model had made one
 * call (every call in it has its result), and the model asks for the next in a later round if it still needs it.
 */
export const keptCalls = (calls: ModelToolCall[], params: ModelParams): ModelToolCall[] =>
  params.parallel_tool_calls === false ? calls.slice(0, 1) : calls;

export interface RoundRules {
  /** The tool a named tool_choice binds this round to. */
  chosen?: string;
}

/** The rules of the round that `choice` binds (the first): a named function allows no other call. */
export const roundRules = (choice: ForcedChoice | undefined): RoundRules => (choice && choice !== "required" ? { chosen: choice.function.name } : {});

const NOT_CHOSEN = "not_chosen";

/**
 * The round's calls its rules refuse, each with the answer the model reads. A round bound to a named function is
 * offered that tool alone by Workers AI (whose binding takes no tool_choice), and OpenAI-compatible servers may
 * not honour tool_choice: a call to another tool, ours or the client's, neither runs nor goes to the client.
 */
export function refusals(calls: ModelToolCall[], rules: RoundRules): Map<ModelToolCall, DispatchResult> {
  const out = new Map<ModelToolCall, DispatchResult>();
  for (const c of calls) {
    if (rules.chosen !== undefined && c.name !== rules.chosen) out.set(c, refused(c, NOT_CHOSEN, `not run: tool_choice asks this round for a call to '${rules.chosen}' alone`, c.arguments));
  }
  return out;
}

/** A call these rules refused: not the tool's failure. */
export const refusedByRules = (r: DispatchResult) => r.error?.code === NOT_CHOSEN;
