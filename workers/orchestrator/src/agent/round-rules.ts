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
  /** On the last round, which offers none of our tools: them, and the limit of steps (CIO_MAX_STEPS) it reached. */
  stepLimit?: StepLimit;
}

export interface StepLimit {
  ours: Set<string>;
  steps: number;
}

/**
 * A round's rules: `choice` binds the first round (a named function allows no other call), `limit` the last.
 */
export function roundRules(choice: ForcedChoice | undefined, limit: StepLimit | undefined): RoundRules {
  const rules: RoundRules = limit ? { stepLimit: limit } : {};
  if (choice && choice !== "required") rules.chosen = choice.function.name;
  return rules;
}

const NOT_CHOSEN = "not_chosen";
const STEP_LIMIT = "step_limit";

/** The round's calls its rules refuse, each with the answer the model reads. */
export function refusals(calls: ModelToolCall[], rules: RoundRules): Map<ModelToolCall, DispatchResult> {
  const out = new Map<ModelToolCall, DispatchResult>();
  for (const c of calls) {
    const why = refusal(c, rules);
    if (why) out.set(c, refused(c, why.code, why.message, c.arguments));
  }
  return out;
}

/**
 * Why a call may not go on, if it may not. The last round offers none of our tools, so the answer ends with it; a
 * model that calls one anyway (it saw them in the rounds before) is told it was the step limit, not that the tool
 * it just used does not exist, and the answer says so rather than naming the tool as failed. A round bound to a
 * named function is offered that tool alone by Workers AI (whose binding takes no tool_choice), and
 * OpenAI-compatible servers may not honour tool_choice: a call to another tool, ours or the client's, neither
 * runs nor goes to the client.
 */
function refusal(c: ModelToolCall, rules: RoundRules): { code: string; message: string } | undefined {
  const limit = rules.stepLimit;
  if (limit?.ours.has(c.name)) return { code: STEP_LIMIT, message: `not run: this answer reached its limit of ${limit.steps} steps (model rounds) before the call` };
  if (rules.chosen !== undefined && c.name !== rules.chosen) return { code: NOT_CHOSEN, message: `not run: tool_choice asks this round for a call to '${rules.chosen}' alone` };
  return undefined;
}

/** A call these rules refused: not the tool's failure. */
export const refusedByRules = (r: DispatchResult) => r.error?.code === NOT_CHOSEN || r.error?.code === STEP_LIMIT;

/** What the answer says when it ends at the step limit: before anything it wrote, or after it. */
export const stepLimitNote = (steps: number, afterText: boolean) =>
  afterText ? `\n\nNote: this answer stopped at its limit of ${steps} steps (model rounds) before it was finished.` : `I could not finish this answer within its limit of ${steps} steps (model rounds).`;
