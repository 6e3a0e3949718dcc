/**
 * The client's tools across a session's turns. An answer that calls them ends its turn; the client runs
 * them and sends only their results (`tool` messages) in the next request with the same session_id. The
 * model must then see the call before the results, as in any OpenAI conversation: the session keeps the
 * calls with the answer (store.ts `links`) and hands them back in the history.
 */
import { badRequest, type ApiError } from "../../lib/errors.js";
import type { AnyToolCall, ChatMessage } from "../../lib/protocol/index.js";
import type { StoredMessage, StoredToolCall } from "../../lib/protocol/session.js";
import { contentText } from "../../workers/orchestrator/src/stream.js";

type Answer = Extract<ChatMessage, { role: "assistant" }>;
/** A message a session can record: any but OpenAI's deprecated function result. */
export type LinkableMessage = Exclude<ChatMessage, { role: "function" }>;

/**
 * A function result answers a `function_call` by name, not a call by id: a session, which keeps each tool result
 * with the call it answers (and leaves out calls no result follows), has no call to link it to.
 */
export const linkable = (m: ChatMessage): m is LinkableMessage => m.role !== "function";

export const unlinkedRefusal = () =>
  badRequest("Role 'function' is not taken with 'session_id': a session links each tool result to its call, so send it as a 'tool' message with the call's tool_call_id.", null, "unsupported_parameter");

/**
 * The history and the request's messages as the model gets them. A client that sends the answer with the
 * calls again (as OpenAI's own examples do) would have it twice: its copy is dropped.
 */
export function continued(history: ChatMessage[], messages: ChatMessage[]): { history: ChatMessage[]; incoming: ChatMessage[] } {
  const last = history.at(-1);
  const pending = last?.role === "assistant" ? (last.tool_calls ?? []).map((c) => c.id) : [];
  const echo = messages[0];
  const echoed = pending.length && echo?.role === "assistant" && echo.tool_calls?.some((c) => pending.includes(c.id));
  const incoming = echoed ? messages.slice(1) : messages;
  return { history: answeredOnly(history, incoming), incoming };
}

/**
 * The history with each answer's calls cut to those the tool messages right after it answer (its text
 * stays); the last answer's are answered by the request's first messages, if at all. A call the client
 * skipped (it asked something new instead) stayed in the history unanswered, in every later turn, and a
 * strict OpenAI-compatible upstream refuses a conversation with a call that no result follows.
 */
function answeredOnly(history: ChatMessage[], incoming: ChatMessage[]): ChatMessage[] {
  const all = [...history, ...incoming];
  const cut = history.map((m, i) => (m.role === "assistant" && m.tool_calls?.length ? withCalls(m, resultsAfter(all, i)) : m));
  // Results that answer no open call (a repeat, stored before strayResult refused them) go too.
  const fits = answering(cut);
  return cut.filter((_, i) => fits[i]);
}

/**
 * The refusal of a request with a tool result that answers no open call, or null; `tail` is the session's
 * newest answer and what followed it (store.ts, sinceLastAnswer). Stored, a result sent twice (a client's
 * retry) or for another call was sent to the model with that turn and every later one, answering no call.
 */
export function strayResult(tail: ChatMessage[], incoming: ChatMessage[]): ApiError | null {
  const fits = answering([...tail, ...incoming]).slice(tail.length);
  const stray = incoming.find((_, i) => !fits[i]);
  if (stray?.role !== "tool") return null;
  const message = `No call '${stray.tool_call_id}' is waiting for this tool result: it was answered already, or the answer right before it did not make it. Send each result once, after the answer that made the call; nothing was recorded.`;
  return badRequest(message, "messages", "invalid_tool_result");
}

/**
 * For each message, whether it may stand where it is: a tool message must answer an open call, one the newest
 * answer made that no result has answered yet and no other message has come after.
 */
function answering(messages: ChatMessage[]): boolean[] {
  let open = new Set<string>();
  return messages.map((m) => {
    if (m.role === "tool") return open.delete(m.tool_call_id);
    open = new Set(m.role === "assistant" ? (m.tool_calls ?? []).map((c) => c.id) : []);
    return true;
  });
}

/** The ids of the calls that the run of tool messages after position `i` answers. */
function resultsAfter(messages: ChatMessage[], i: number): Set<string> {
  const ids = new Set<string>();
  for (const m of messages.slice(i + 1)) {
    if (m.role !== "tool") break;
    ids.add(m.tool_call_id);
  }
  return ids;
}

function withCalls(m: Answer, answered: Set<string>): Answer {
  const { tool_calls: calls = [], ...text } = m;
  const kept = calls.filter((c) => answered.has(c.id));
  return kept.length ? { ...text, tool_calls: kept } : text;
}

/**
 * A request message as the session records it: its text (text parts joined, any other part named by its type,
 * so a later turn knows an image was there and two parts do not run together), and its links to the client's tools.
 */
export function storedMessageOf(m: LinkableMessage): StoredMessage {
  const content = contentText(m.content);
  if (m.role === "tool") return { role: "tool", content, tool_call_id: m.tool_call_id };
  if (m.role !== "assistant") return { role: m.role, content };
  return answerOf(content, m.tool_calls ?? []);
}

/**
 * An answer as the session records it, with the calls it made, function and custom (GPT-5's free-form tools,
 * which passthrough models get): only OpenAI's fields of each, as the record crosses RPC and goes upstream again.
 * Custom calls were dropped, so the client's result for one was refused as answering no call.
 */
export function answerOf(content: string, calls: AnyToolCall[]): StoredMessage {
  const kept = calls.map((c): StoredToolCall =>
    c.type === "function"
      ? { id: c.id, type: "function", function: { name: c.function.name, arguments: c.function.arguments } }
      : { id: c.id, type: "custom", custom: { name: c.custom.name, input: c.custom.input } },
  );
  return { role: "assistant", content, ...(kept.length ? { tool_calls: kept } : {}) };
}

/** A stored message as the model gets it again, with its tool-call links. */
export function chatMessageOf(m: StoredMessage): ChatMessage {
  if (m.role === "tool") return { role: "tool", content: m.content, tool_call_id: m.tool_call_id ?? "" };
  if (m.role === "assistant") return { role: "assistant", content: m.content, ...(m.tool_calls?.length ? { tool_calls: m.tool_calls } : {}) };
  return { role: m.role, content: m.content };
}

