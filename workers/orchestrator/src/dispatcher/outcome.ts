/**
 * What a tool call's outcome means to the dispatcher: whether another attempt may help, what it tells the
 * tool's circuit breaker, and how much of it the model gets to read.
 */
import type { ToolError, ToolResult } from "../../../../lib/protocol/tool.js";
import { backoffMs } from "../../../../lib/time.js";
import type { Invoked } from "../registry/transports.js";

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
  "ai_bad_output", // media: the model answered without an image (not retried: each generation is paid for)
  "storage_error", // media: R2 refused the image, after the tool's own retries
]);

export const unwell = (e: ToolError) => e.retryable || UNWELL.has(e.code);

/**
 * A tool's own deadline_exceeded is final like our timeout, whatever it says: the call's budget is spent,
 * and another attempt would get a fresh one.
 */
export const worthRetrying = (e: ToolError) => e.retryable && e.code !== "deadline_exceeded";

export interface RetryPolicy {
  idempotent: boolean;
  baseMs: number;
  /** The longest wait a Retry-After may ask for and still be waited out (the setting, capped by the tool's timeout). */
  maxWaitMs: number;
}

/**
 * How long to wait before calling again after this attempt (the `attempt`-th retry's backoff), or null not
 * to. A tool that must not run twice is called again only when the transport says the call never ran: any
 * answer the tool itself gave may come after it did its work (generated, and paid for, an image), whatever
 * its `retryable` says. A wait the tool asked for is honoured, and one past maxWaitMs ends the retries.
 */
export function retryWait(o: Invoked, p: RetryPolicy, attempt: number): number | null {
  if (o.result.ok || !worthRetrying(o.result.error)) return null;
  if (!p.idempotent && !o.notRun) return null;
  if (o.retryAfterMs !== undefined && o.retryAfterMs > p.maxWaitMs) return null;
  return Math.max(o.retryAfterMs ?? 0, backoffMs(attempt, p.baseMs));
}

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

/**
 * At most `max` characters of a tool's text, with a note of what was cut and, when given, why (a lone half
 * of a surrogate pair is dropped).
 */
export function capText(text: string, max: number, why = ""): string {
  if (text.length <= max) return text;
  const end = max > 0 && /[\uD800-\uDBFF]/.test(text[max - 1]!) ? max - 1 : max;
  return `${text.slice(0, end)}\n…(truncated: ${end} of ${text.length} characters${why})`;
}

/**
 * How many characters each of a round's texts may keep: at most `each`, and `total` for all of them, shared
 * out shortest first so a short answer is never cut to make room (what a short one leaves, longer ones share).
 */
export function roundShares(lengths: number[], each: number, total: number): number[] {
  const shares = lengths.map(() => 0);
  const order = lengths.map((_, i) => i).sort((a, b) => lengths[a]! - lengths[b]!);
  let left = total;
  order.forEach((i, k) => {
    shares[i] = Math.min(lengths[i]!, each, Math.floor(left / (order.length - k)));
    left -= shares[i]!;
  });
  return shares;
}
