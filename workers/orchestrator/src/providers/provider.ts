/**
 * One interface for every model behind `cio/auto`: Workers AI, any OpenAI-compatible upstream, and the
 * model-free builtin planner. A provider answers one round of the agent loop as a stream of events, so
 * text can reach the client token by token while tool calls are collected.
 */
import { UsageSchema, type ChatCompletionRequest, type ChatMessage, type FunctionTool, type ToolChoice, type Usage } from "../../../../lib/protocol/index.js";

/** A tool call the model asked for; `arguments` is the raw JSON text the model wrote. */
export interface ModelToolCall {
  id: string;
  name: string;
  arguments: string;
}

export type ModelEvent =
  | { type: "text"; delta: string }
  /**
   * Text the model wrote that is not its answer (its reasoning): the agent loop shows none of it, but the
   * upstream bills it as completion tokens, so an answer with no usage or cut short counts it.
   */
  | { type: "reasoning"; delta: string }
  | { type: "tool_call"; call: ModelToolCall }
  /**
   * Why the model will not answer, in place of an answer (OpenAI's `refusal`, mostly under a json_schema
   * response_format): the client reads it from message.refusal, not from the content its schema parses.
   */
  | { type: "refusal"; delta: string }
  /** Only ever sane usage (`saneUsage`): every consumer books it as it is. */
  | { type: "usage"; usage: Usage }
  /** Why the model stopped this round, as it said ("stop", "length", "tool_calls", "content_filter", …). */
  | { type: "finish"; reason: string };

export interface ModelRound {
  messages: ChatMessage[];
  /** Tools the model may call this round; empty on the last round, which must answer in text. */
  tools: FunctionTool[];
  requestId: string;
  signal: AbortSignal;
  /** Whether the client reads a stream; providers may answer a non-streamed request in one piece. */
  stream: boolean;
  /** Client parameters passed through to the model where the provider supports them. */
  params: ModelParams;
  /** What the client's tool_choice forces, for the first round only. */
  toolChoice?: ForcedChoice;
}

/** A call to any offered tool, or to the named function (allowed_tools has narrowed the offered tools already). */
export type ForcedChoice = "required" | Extract<ToolChoice, { type: "function" }>;

/**
 * The client's parameters that mean the same to any model (names as OpenAI's). `user` (the end user, for the
 * upstream's abuse tracking), `parallel_tool_calls` and `reasoning_effort` are OpenAI's own; other providers
 * leave them out.
 */
export const MODEL_PARAMS = [
  "temperature", "top_p", "max_tokens", "max_completion_tokens", "seed", "stop", "presence_penalty", "frequency_penalty", "response_format",
  "user", "parallel_tool_calls", "reasoning_effort",
] as const;
export type ModelParams = Partial<Pick<ChatCompletionRequest, (typeof MODEL_PARAMS)[number]>>;

export const modelParams = (body: ChatCompletionRequest): ModelParams =>
  Object.fromEntries(MODEL_PARAMS.flatMap((k) => (body[k] == null ? [] : [[k, body[k]]])));

export interface ModelProvider {
  /** "workers-ai" | "openai" | "builtin": reported in the answer's `cio.provider`. */
  readonly name: string;
  /** The model's name as reported in logs and `cio.model`. */
  readonly model: string;
  round(r: ModelRound): AsyncIterable<ModelEvent>;
}

/**
 * The upstream's usage when it is sane, else none: counts that are strings, negative or missing would corrupt
 * the tenant's totals, or be refused by the limiter's settlement and the booking lost (a council's assistant,
 * the sql tool). With none, the caller books its own estimate, as it does for an upstream that reports nothing.
 */
export const saneUsage = (u: unknown): Usage | undefined => UsageSchema.safeParse(u).data;

export const newCallId = () => `call_${crypto.randomUUID().replace(/-/g, "").slice(0, 24)}`;

/**
 * The tools a client's tool_choice binds a round to: the named one, or all for "required"; null when it binds
 * nothing. The agent loop passes it for the first round only and has checked the name.
 */
export function toolsBoundBy(tools: FunctionTool[], choice: ModelRound["toolChoice"]): FunctionTool[] | null {
  if (choice === undefined) return null;
  return choice === "required" ? tools : tools.filter((t) => t.function.name === choice.function.name);
}
