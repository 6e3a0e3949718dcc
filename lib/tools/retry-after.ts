/**
 * An upstream's "not now" (HTTP 429 with Retry-After, in seconds or as an HTTP date), as tools pass it on.
 * The wait goes into the message, for the model, and beside the ToolError's fields as `retryAfterMs`, for
 * the dispatcher, whose retry then waits that long instead of its backoff of a few ms (which only spends
 * the retries, or lengthens the limit). The failure is retryable only when the wait is short enough for a
 * retry within the same answer to make sense; a longer one is for the model to tell the user. HTTPS tool
 * services may send `retryAfterMs` too (ToolErrorSchema).
 */
import { retryDelayMs } from "../http/retry-delay.js";
import { ToolFailure } from "./tool-entrypoint.js";

/** "retry after 12 s", as the model reads it (rounded up: sooner would be refused again). */
export const describeWait = (ms: number) => `retry after ${Math.ceil(ms / 1000)} s`;

/**
 * The failure for a 429: `message` plus the wait when the upstream named one. Retryable when it named none
 * (the dispatcher's backoff decides) or one of at most `maxWaitMs`; a longer wait is not worth holding the
 * answer for, so the failure is final and the model hears when to try again. The wait is Retry-After's
 * unless the tool read it from the upstream's own headers (Brave's X-RateLimit-Reset).
 */
export function throttled(
  code: string,
  message: string,
  res: Response,
  maxWaitMs: number,
  wait: number | null = retryDelayMs(res.headers),
): ToolFailure {
  if (wait === null) return new ToolFailure(code, message, true);
  return new ToolFailure(code, `${message}; ${describeWait(wait)}`, wait <= maxWaitMs, wait);
}
