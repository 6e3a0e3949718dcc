/**
 * The agent loop behind `cio/auto`: system prompt + conversation + the tenant's tools (and the client's),
 * then rounds of model → tools → model, at most CIO_MAX_STEPS of them. Our tools run through the
 * dispatcher (in parallel when a round asks for several, unless the client's parallel_tool_calls is false: then a
 * round keeps its first call, round-rules.ts); a call to a client tool ends the turn with
 * `tool_calls`, and the client's follow-up with `role: "tool"` messages continues it. Failed tools are
 * reported to the model as errors and named at the end of the answer (unless the client asked for JSON).
 */
import { type ChatMessage, type FunctionTool, type Usage } from "../../../../lib/protocol/index.js";
import type { DispatchResult, Dispatcher } from "../dispatcher/index.js";
import { TOOL_FAILED_PREFIX } from "../providers/builtin/planner.js";
import type { ModelProvider, ModelToolCall } from "../providers/provider.js";
import { promptText, writtenText } from "../estimate.js";
import type { AgentEvent, ToolActivity } from "./events.js";
import { keptCalls, refusals, refusedByRules, roundRules, stepLimitNote } from "./round-rules.js";
import { addUsage, type Spending } from "./spending.js";

export interface AgentInput {
  provider: ModelProvider;
  dispatcher: Dispatcher;
  systemPrompt: string;
  messages: ChatMessage[];
  /** Our tools, best-ranked first. */
  ownTools: FunctionTool[];
  /** Tools the client declared in `tools`: their calls go back to the client. */
  clientTools: FunctionTool[];
  maxSteps: number;
  requestId: string;
  params: Parameters<ModelProvider["round"]>[0]["params"];
  /** The client's forced tool choice: it binds the first round (later rounds answer with what the tools gave). */
  toolChoice?: Parameters<ModelProvider["round"]>[0]["toolChoice"];
  stream: boolean;
  signal: AbortSignal;
  /** Adds up the time spent waiting on the model and the tools (reported so the gateway can tell its own overhead). */
  waited?: (ms: number) => void;
  /** Kept as the rounds go (each one's prompt before it is sent, its text, its usage): what an answer that ends early has cost. */
  spending: Spending;
}

export async function* runAgent(a: AgentInput): AsyncGenerator<AgentEvent> {
  const clientNames = new Set(a.clientTools.map((t) => t.function.name));
  const own = a.ownTools.filter((t) => !clientNames.has(t.function.name));
  const limit = { ours: new Set(own.map((t) => t.function.name)), steps: a.maxSteps };
  const messages: ChatMessage[] = [{ role: "system", content: a.systemPrompt }, ...a.messages];
  const activity: ToolActivity[] = [];
  const failures: DispatchResult[] = [];
  // A client that asked for JSON parses the content: no note of ours may be added to it (cio.tools tells the failures).
  const notes = !wantsJson(a.params);
  let wroteText = false;
  const cio = (steps: number) => ({ provider: a.provider.name, model: a.provider.model, steps, tools: activity });

  for (let step = 1; step <= a.maxSteps; step++) {
    const tools = step === a.maxSteps ? a.clientTools : [...own, ...a.clientTools];
    // Read before this round's answer and tool results join `messages`.
    a.spending.roundStarts(() => roundPrompt(a, messages, tools));
    const round = yield* modelRound(a, messages, tools, step);
    wroteText ||= round.text !== "";
    a.spending.roundEnds(round.usage ?? a.spending.estimate(answerText(round)));
    const calls = keptCalls(round.calls, a.params);
    // A round cut by the token limit may end in a call with half its arguments: nothing of it runs or goes to the client.
    if (!calls.length || round.finish === "length") {
      if (notes) yield* closing(failures, wroteText);
      yield { type: "done", finish: answerFinish(round.finish), usage: a.spending.finished, cio: cio(step) };
      return;
    }
    const refused = refusals(calls, roundRules(step === 1 ? a.toolChoice : undefined, step === a.maxSteps ? limit : undefined));
    // Ours: every call we answer, by running it or refusing it; theirs: the client's calls it may run.
    const theirs = calls.filter((c) => clientNames.has(c.name) && !refused.has(c));
    const ours = calls.filter((c) => !theirs.includes(c));
    messages.push({ role: "assistant", content: round.text || null, tool_calls: [...ours, ...theirs].map(wireCall) });
    const offered = new Set(tools.map((t) => t.function.name));
    const results = ours.length ? yield* runTools(a, ours, refused, offered, activity) : [];
    for (const r of results) {
      if (!r.ok && !refusedByRules(r)) failures.push(r);
      messages.push({ role: "tool", tool_call_id: r.call.id, content: r.ok ? r.content : `${TOOL_FAILED_PREFIX} ${r.call.name} failed (${r.error!.code}): ${r.error!.message}` });
    }
    if (theirs.length) {
      yield { type: "client_tool_calls", calls: theirs, turn: messages.slice(1 + a.messages.length) };
      yield { type: "done", finish: "tool_calls", usage: a.spending.finished, cio: cio(step) };
      return;
    }
  }
  // The last round offers none of our tools; a model that calls them anyway has its calls refused (step_limit)
  // and the turn ends here with whatever it wrote, and says it stopped at the limit.
  if (notes) yield { type: "text", delta: stepLimitNote(a.maxSteps, wroteText) };
  if (notes) yield* closing(failures, true);
  yield { type: "done", finish: "length", usage: a.spending.finished, cio: cio(a.maxSteps) };
}

interface RoundResult {
  text: string;
  /** What the round wrote that the client does not see (its reasoning): billed all the same. */
  unseen: string;
  /** What the model wrote as its refusal: counted as written, like text. */
  refusal: string;
  calls: ModelToolCall[];
  usage?: Usage;
  /** The model's own finish_reason for this round, when it gave one. */
  finish?: string;
}

/** One model round: its text goes on to the client as it comes; calls, usage and finish reason are collected. */
async function* modelRound(a: AgentInput, messages: ChatMessage[], tools: FunctionTool[], step: number): AsyncGenerator<AgentEvent, RoundResult> {
  const r: RoundResult = { text: "", unseen: "", refusal: "", calls: [] };
  const toolChoice = step === 1 ? a.toolChoice : undefined;
  let t = Date.now();
  for await (const ev of a.provider.round({ messages, tools, requestId: a.requestId, signal: a.signal, params: a.params, toolChoice, stream: a.stream })) {
    a.waited?.(Date.now() - t);
    if (ev.type === "text") {
      r.text += ev.delta;
      a.spending.wrote(ev.delta);
      yield ev;
    } else if (ev.type === "reasoning") {
      r.unseen += ev.delta;
      a.spending.wrote(ev.delta);
    } else if (ev.type === "refusal") {
      r.refusal += ev.delta;
      a.spending.wrote(ev.delta);
      yield ev;
    } else if (ev.type === "tool_call") r.calls.push(ev.call);
    // Usage that is not sane never comes (saneUsage): the round is then estimated, for the client and the budget alike.
    else if (ev.type === "usage") r.usage = addUsage(r.usage, ev.usage);
    else if (ev.type === "finish") r.finish = ev.reason;
    t = Date.now();
  }
  return r;
}

/**
 * A round's prompt as text to estimate, for a round that reports no usage or is cut short: what the model reads
 * (the system prompt, the whole conversation with the tool results so far, the tools' schemas). The answer's
 * usage was once estimated from the client's messages and the final text alone, so a provider that omits usage
 * was booked a fraction of a multi-round answer. The builtin planner is no model: it reads nothing of that.
 */
function roundPrompt(a: AgentInput, read: ChatMessage[], tools: FunctionTool[]): string | undefined {
  if (a.provider.name === "builtin") return undefined;
  return promptText(read, tools);
}

/** What a round wrote, as text to estimate: its reasoning, its text, its refusal and its calls. */
const answerText = (r: RoundResult) => writtenText({ reasoning: r.unseen, content: r.text, refusal: r.refusal, tool_calls: r.calls.map(wireCall) });

/** "length" and "content_filter" tell the client its answer is not whole; any other reason of a text answer is "stop". */
const answerFinish = (reason: string | undefined) => (reason === "length" || reason === "content_filter" ? reason : "stop");

const wantsJson = (p: AgentInput["params"]) => p.response_format?.type === "json_object" || p.response_format?.type === "json_schema";

/** Runs the calls the round's rules did not refuse (`refused` answers the others), and reports each call's outcome. */
async function* runTools(a: AgentInput, calls: ModelToolCall[], refused: Map<ModelToolCall, DispatchResult>, offered: Set<string>, activity: ToolActivity[]): AsyncGenerator<AgentEvent, DispatchResult[]> {
  for (const c of calls) yield { type: "tool_start", name: c.name, arguments: c.arguments };
  const started = Date.now();
  const toRun = calls.filter((c) => !refused.has(c));
  const ran = toRun.length ? await a.dispatcher.dispatch(toRun, a.signal, offered) : [];
  a.waited?.(Date.now() - started);
  let next = 0;
  const results = calls.map((c) => refused.get(c) ?? ran[next++]!);
  for (const r of results) {
    const act: ToolActivity = { name: r.call.name, arguments: r.arguments, latency_ms: r.latencyMs, ok: r.ok };
    if (r.error) act.error = { code: r.error.code, message: r.error.message };
    activity.push(act);
    yield { type: "tool_end", activity: act, ran: r.ran };
  }
  return results;
}

/** Graceful degradation made visible: the answer names every tool that failed and says it went on without it. */
function* closing(failures: DispatchResult[], afterText: boolean): Iterable<AgentEvent> {
  const names = [...new Set(failures.map((f) => f.call.name))];
  if (!names.length) return;
  const detail = names.map((n) => `${n} (${failures.find((f) => f.call.name === n)!.error!.code})`).join(", ");
  const note = `Note: the tool${names.length > 1 ? "s" : ""} ${detail} failed, so this answer was given without ${names.length > 1 ? "them" : "it"}.`;
  yield { type: "text", delta: `${afterText ? "\n\n" : ""}${note}` };
}

const wireCall = (c: ModelToolCall) => ({ id: c.id, type: "function" as const, function: { name: c.name, arguments: c.arguments } });
