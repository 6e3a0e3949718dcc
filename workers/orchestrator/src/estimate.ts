/**
 * The text our token estimates count (estimateTokens, about four characters a token), for a model call whose
 * upstream reported no usage (or none that is sane) and for an answer cut short: what the model read and what
 * it wrote, tool calls included. One estimate for the agent loop's rounds and for passthrough answers alike:
 * passthrough's once read only the messages' text and the answer's `content`, so a tool-calling answer
 * (content null, its arguments thousands of characters) booked and showed 0 completion tokens, and the
 * request's `tools` schemas and the arguments of earlier assistant calls counted nothing. What a model writes
 * also counts its reasoning and refusal (writtenText), which the upstream bills as completion tokens.
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

/**
 * What a model wrote, as its message or a streamed delta carries it: messageText, and the text the client may
 * not show as the answer but the upstream bills as completion tokens: reasoning (`reasoning_content` from
 * DeepSeek, vLLM and SGLang; `reasoning` from OpenRouter and Ollama) and a refusal. They were once left out,
 * so a reasoning model's stream cut mid-thought, or answered with no usage, booked a handful of tokens for
 * thousands. Only what a model writes: what it reads goes through promptText, and upstreams drop earlier
 * turns' reasoning rather than read it.
 */
export function writtenText(m: Parameters<typeof messageText>[0] & { reasoning_content?: unknown; reasoning?: unknown; refusal?: unknown }): string {
  const extra = [m.reasoning_content, m.reasoning, m.refusal].filter((t): t is string => typeof t === "string" && t !== "");
  return [...extra, messageText(m)].filter(Boolean).join("\n");
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
