/**
 * The builtin provider as a round of the agent loop. First round: rank the offered tools against the
 * request (BM25 × the tool's learned quality), fill the best viable tool's arguments from the text, and
 * call it (among the tools a client's tool_choice names, when it names any). Once tool results are in the conversation: answer from them. No tool fits: say so. Every
 * answer ends with the notice that no language model was used.
 */
import type { ChatMessage, FunctionTool, ToolManifest } from "../../../../../lib/protocol/index.js";
import { ApiError } from "../../../../../lib/errors.js";
import { contentText } from "../../stream.js";
import { newCallId, toolsBoundBy, type ModelEvent, type ModelProvider, type ModelRound } from "../provider.js";
import { fillArgs } from "./fill-args.js";
import { BUILTIN_NOTICE, builtinAnswer, lastUserText } from "./index.js";
import { bm25, toolDocument } from "./rank.js";

export interface BuiltinOptions {
  /** Manifests by tool name, for their examples (the FunctionTool shape has none). */
  manifests: Map<string, ToolManifest>;
  /** The learned quality of a tool, a factor around 1 (see learning/quality.ts). */
  quality: (name: string) => number;
  /** BM25 score below which a tool is not considered relevant at all. */
  minScore: number;
}

/** Prefix the agent loop puts on the tool message of a failed call; the planner answers around them. */
export const TOOL_FAILED_PREFIX = "ERROR:";

export function builtinProvider(o: BuiltinOptions): ModelProvider {
  return {
    name: "builtin",
    model: "builtin-planner",
    async *round(r: ModelRound): AsyncIterable<ModelEvent> {
      const results = toolResultsSinceLastUser(r.messages);
      if (results === null && r.tools.length) {
        const forced = toolsBoundBy(r.tools, r.toolChoice);
        const pick = forced ? chooseForced(forced, lastUserText(r.messages), o) : choose(r.tools, lastUserText(r.messages), o);
        if (pick) {
          yield { type: "tool_call", call: { id: newCallId(), name: pick.name, arguments: JSON.stringify(pick.args) } };
          return;
        }
      }
      yield* words(results === null ? builtinAnswer(r.messages) : answerFrom(results));
    },
  };
}

/** Ranked tools in order; the first whose required arguments the text supplies is called. */
export function choose(tools: FunctionTool[], text: string, o: BuiltinOptions): { name: string; args: Record<string, unknown> } | null {
  const docs: [string, string][] = tools.map((t) => [t.function.name, toolDocument(t, o.manifests.get(t.function.name)?.examples)]);
  const ranked = bm25(text, docs)
    .filter((s) => s.score >= o.minScore)
    .map((s) => ({ ...s, score: s.score * o.quality(s.name) }))
    .sort((a, b) => b.score - a.score);
  for (const { name } of ranked) {
    const tool = tools.find((t) => t.function.name === name)!;
    const args = fillArgs(tool.function.parameters ?? {}, text);
    if (args) return { name, args };
  }
  return null;
}

/**
 * A call the client insists on: no relevance threshold (the client has judged that), ranked tools first. When
 * the text supplies no tool's required arguments, the planner cannot honour it, and says so rather than answer
 * in prose a client waiting for a tool call would misread.
 */
function chooseForced(tools: FunctionTool[], text: string, o: BuiltinOptions): { name: string; args: Record<string, unknown> } {
  const pick = choose(tools, text, { ...o, minScore: Number.NEGATIVE_INFINITY });
  if (pick) return pick;
  const named = tools.length === 1 ? `'${tools[0]!.function.name}'` : "any tool";
  throw new ApiError(
    501,
    "server_error",
    `tool_choice asks for a call to ${named}, whose required arguments the builtin planner could not take from the request; forcing a call needs a language model (configure Workers AI, or CIO_UPSTREAM_BASE_URL with CIO_UPSTREAM_MODELS).`,
    "no_model_provider",
    "tool_choice",
  );
}

/** The tool messages after the last user message, or null when the planner has not called a tool yet. */
function toolResultsSinceLastUser(messages: ChatMessage[]): string[] | null {
  let i = messages.length - 1;
  const out: string[] = [];
  for (; i >= 0 && messages[i]!.role !== "user"; i--) {
    const m = messages[i]!;
    if (m.role === "tool") out.unshift(contentText(m.content));
  }
  return out.length ? out : null;
}

function answerFrom(results: string[]): string {
  const usable = results.filter((r) => !r.startsWith(TOOL_FAILED_PREFIX));
  const body = usable.length ? usable.join("\n\n") : "No tool result could be used to answer this request.";
  return `${body}\n\n${BUILTIN_NOTICE}`;
}

function* words(text: string): Iterable<ModelEvent> {
  for (const w of text.match(/\S+\s*|\s+/g) ?? []) yield { type: "text", delta: w };
}
