/**
 * The text our token estimates count (estimateTokens, about four characters a token), for a model call whose
 * upstream reported no usage (or none that is sane) and for an answer cut short: what the model read and what
 * it wrote, tool calls included. One estimate for the agent loop's rounds and for passthrough answers alike:
 * passthrough's once read only the messages' text and the answer's `content`, so a tool-calling answer
 * (content null, its arguments thousands of characters) booked and showed 0 completion tokens, and the
 * request's `tools` schemas and the arguments of earlier assistant calls counted nothing.
 */
import { contentText } from "./stream.js";

/** A tool call as the wire carries it, whole or as one streamed piece of it (a delta names only what it adds). */
interface WireCallPiece {
  function?: { name?: string; arguments?: string } | null;
  custom?: { name?: string; input?: string } | null;
}

/**
 * A message's text as a model reads or writes it: its content, and the name and arguments of each of its tool
 * calls (or its deprecated function_call). Also a streamed delta's, which has the same fields in pieces.
 */
export function messageText(m: { content?: unknown; tool_calls?: unknown; function_call?: unknown }): string {
  const calls = [...(Array.isArray(m.tool_calls) ? (m.tool_calls as WireCallPiece[]) : []), ...(m.function_call ? [{ function: m.function_call as WireCallPiece["function"] }] : [])];
  return [contentText(m.content), ...calls.map(callText)].filter(Boolean).join("\n");
}

/** What a model reads: every message, and the schemas of the tools it is offered. */
export function promptText(messages: readonly Parameters<typeof messageText>[0][], tools: readonly unknown[] = []): string {
  const read = messages.map(messageText).join("\n");
  return tools.length ? `${read}\n${JSON.stringify(tools)}` : read;
}

function callText(c: WireCallPiece): string {
  const f = c.function ?? {};
  const x = c.custom ?? {};
  return [f.name, f.arguments, x.name, x.input].filter(Boolean).join(" ");
}
