/**
 * What a tool call's outcome means to the dispatcher: whether another attempt may help, what it tells the
 * tool's circuit breaker, and how much of it the model gets to read.
 */
import type { ToolError, ToolResult } from "../../../../lib/protocol/tool.js";

/**
 * Failures that say the tool itself is unwell, whatever was asked: it could not be reached, answered too
 * late or with something that is not a ToolResult, refused our signed call, crashed, or is not set up.
 * Every retryable failure counts too (the tool says the trouble may pass: its upstream is down or busy).
 * Any other failure (unknown_symbol, not_allowed, bad_request, no_query…) is the tool answering the call
 * as asked, so there is no list of the callers' mistakes to keep up to date.
 */
const UNWELL = new Set([
  "timeout",
  "deadline_exceeded",
  "tool_unreachable",
  "tool_unavailable",
  "tool_bad_response",
  "tool_rejected",
  "tool_unbound",
  "tool_unsigned",
  "tool_error",
  "not_configured",
  "unauthorized",
  "rate_limited", // the tool's upstream refuses it for now (Binance's 429/418): not retried, but calls should pause
]);

export const unwell = (e: ToolError) => e.retryable || UNWELL.has(e.code);

/**
 * A tool's own deadline_exceeded is final like our timeout, whatever it says: the call's budget is spent,
 * and another attempt would get a fresh one.
 */
export const worthRetrying = (e: ToolError) => e.retryable && e.code !== "deadline_exceeded";

/**
 * What the breaker hears: a failure when the outcome says the tool is unwell, a success when it answered.
 * A caller's mistake says nothing about the tool and is not reported, unless the call was the half-open
 * probe: the tool answered, so it is back (left unreported, the probe would hold the breaker for a cool-down).
 */
export function breakerVerdict(r: ToolResult, probe: string | null): boolean | null {
  if (r.ok) return true;
  if (unwell(r.error)) return false;
  return probe ? true : null;
}

/** At most `max` characters of a tool's text, with a note of what was cut (a lone half of a surrogate pair is dropped). */
export function capText(text: string, max: number): string {
  if (text.length <= max) return text;
  const end = /[\uD800-\uDBFF]/.test(text[max - 1]!) ? max - 1 : max;
  return `${text.slice(0, end)}\n…(truncated: ${end} of ${text.length} characters)`;
}
