/**
 * The tools cio/auto's agent loop may offer, ours and the client's, as the client's `tools` and `tool_choice`
 * leave them, and the choice that binds its first round. Checked as OpenAI checks them: a tool the choice names
 * that is not among the tools is the client's error. Among ours means among every tool the caller may be offered,
 * not the best-ranked CIO_MAX_TOOLS_OFFERED of them: whether a request is valid must not hang on what the ranking
 * has learned (a tool that failed for a while would have turned a client's named choice into a 400), and a tool
 * the client names is offered whatever its rank.
 */
import { badRequest } from "../../../../lib/errors.js";
import type { ChatCompletionRequest, FunctionTool, ToolChoice } from "../../../../lib/protocol/index.js";
import type { ForcedChoice } from "../providers/provider.js";

export interface OfferedTools {
  own: FunctionTool[];
  client: FunctionTool[];
  /** What binds the first round: a call to any offered tool, or to the named one. */
  forced?: ForcedChoice;
}

type ToolRef = Exclude<ToolChoice, string | { type: "allowed_tools" }>;
type AllowedTools = Extract<ToolChoice, { type: "allowed_tools" }>["allowed_tools"];

/** `ours`: every tool of ours the caller may be offered, best-ranked first; at most `max` of them are offered. */
export function offeredTools(body: Pick<ChatCompletionRequest, "tools" | "tool_choice">, ours: FunctionTool[], max: number): OfferedTools {
  const choice = body.tool_choice ?? "auto";
  // "none" means what it says for OpenAI: answer in text, call nothing (so the tools are not even read).
  if (choice === "none") return { own: [], client: [] };
  const client = functionToolsOnly(body.tools ?? []);
  const best = ours.slice(0, max);
  if (choice === "auto") return { own: best, client };
  if (choice === "required") return { own: best, client, forced: required([...best, ...client], "tool_choice 'required' needs at least one tool.", "tool_choice") };
  if (choice.type === "allowed_tools") return allowed(choice.allowed_tools, ours, client);
  const forced = named(choice, [...ours, ...client], "tool_choice");
  return { own: withChosen(ours, forced.function.name, max), client, forced };
}

/** The best-ranked `max` of our tools, the chosen one first among them when its rank would have left it out. */
function withChosen(ours: FunctionTool[], name: string, max: number): FunctionTool[] {
  const i = ours.findIndex((t) => t.function.name === name);
  return i < max ? ours.slice(0, max) : [ours[i]!, ...ours.slice(0, max - 1)];
}

/**
 * allowed_tools narrows what every round offers (a round that followed our tools' results could otherwise call
 * a tool the client ruled out), to every tool it lists whatever its rank; mode "required" binds the first round
 * as tool_choice "required" does.
 */
function allowed(a: AllowedTools, own: FunctionTool[], client: FunctionTool[]): OfferedTools {
  const names = new Set(a.tools.map((ref, i) => named(ref, [...own, ...client], `tool_choice.allowed_tools.tools[${i}]`).function.name));
  const keep = (tools: FunctionTool[]) => tools.filter((t) => names.has(t.function.name));
  const offered = { own: keep(own), client: keep(client) };
  if (a.mode === "auto") return offered;
  return { ...offered, forced: required([...offered.own, ...offered.client], "tool_choice allowed_tools with mode 'required' lists no tools.", "tool_choice.allowed_tools.tools") };
}

function named(ref: ToolRef, tools: FunctionTool[], param: string): Extract<ToolRef, { type: "function" }> {
  if (ref.type !== "function") throw badRequest(`${param} names a custom tool, and cio/auto calls function tools only: send custom tools to a passthrough model.`, `${param}.type`, "unsupported_tool_type");
  if (!tools.some((t) => t.function.name === ref.function.name)) throw badRequest(`${param} names '${ref.function.name}', which is not among the tools.`, param);
  return ref;
}

function required(tools: FunctionTool[], message: string, param: string): "required" {
  if (!tools.length) throw badRequest(message, param);
  return "required";
}

/** The agent loop calls function tools; GPT-5's custom (free-form) tools go to a passthrough model as they are. */
function functionToolsOnly(tools: NonNullable<ChatCompletionRequest["tools"]>): FunctionTool[] {
  const i = tools.findIndex((t) => t.type !== "function");
  if (i >= 0) throw badRequest("cio/auto calls function tools only: send custom tools to a passthrough model.", `tools[${i}].type`, "unsupported_tool_type");
  return tools as FunctionTool[];
}
