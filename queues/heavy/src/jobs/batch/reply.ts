/**
 * What the model's reply to one batch request becomes: the request's line for the output or error file, in
 * OpenAI's batch output format, or, for a transient failure, an error to throw so the request is sent again
 * later, as a chat_completion task's is (../chat-completion.ts) and as OpenAI's Batch API retries such errors
 * itself. A model's 429 or 5xx used to be written to the error file at once: the orchestrator retries only
 * twice within a second, and passes a 429 whose Retry-After is past CIO_UPSTREAM_RETRY_MAX_WAIT_MS straight
 * back, so a burst of 429s or a short outage of the provider failed every request in flight for good.
 */
import type { SerializedApiError } from "../../../../../lib/errors.js";
import { retryDelayMs } from "../../../../../lib/http/retry-delay.js";
import type { ChatReply } from "../../../../../lib/protocol/index.js";
import { RateLimited } from "./admit.js";
import type { ResultKind } from "./results.js";

/** A request's line; with `retry` it is not final: `retry` is thrown and `body` kept for the dead-letter path. */
export interface ReplyLine {
  kind: ResultKind;
  body: string;
  retry?: Error;
}

export async function replyLine(reply: ChatReply, customId: string, requestId: string): Promise<ReplyLine> {
  if (reply.kind === "json") {
    const body = JSON.stringify({ id: requestId, custom_id: customId, response: { status_code: 200, request_id: requestId, body: reply.completion }, error: null });
    return { kind: "output", body };
  }
  if (reply.kind === "error") {
    const { status, headers: _h, ...error } = reply.error;
    const body = JSON.stringify({ id: requestId, custom_id: customId, response: { status_code: status, request_id: requestId, body: error }, error: null });
    return { kind: "error", body, retry: transient(reply.error) };
  }
  await reply.body.cancel();
  return { kind: "error", body: errorLine(customId, { code: "unexpected_stream", message: "The model answered with a stream." }) };
}

/**
 * The model's error as something to throw for a later attempt, or undefined when it is final. A 429 that says
 * when to come back is a RateLimited: the part goes back to the queue with that delay, using none of its
 * retries, as for the tenant's own limit (the completion window bounds the waiting). Any other 429 or 5xx is
 * a failed attempt, retried with the queue's backoff. x-should-retry decides when present: a spent quota's 429
 * says false, and no wait brings it back.
 */
function transient({ status, headers = {}, error }: SerializedApiError): Error | undefined {
  const should = headers["x-should-retry"];
  if (should === "false" || (should !== "true" && status !== 429 && status < 500)) return undefined;
  const wait = status === 429 ? retryDelayMs(new Headers(headers)) : null;
  if (wait !== null) return new RateLimited(wait, "the model's rate limit");
  return new Error(`model call failed (${status}): ${error.message}`);
}

export const newRequestId = () => `batch_req_${crypto.randomUUID().replace(/-/g, "").slice(0, 24)}`;

/** A request's line when it has no model answer to show (expired, refused, retries exhausted). */
export const errorLine = (customId: string, e: { code: string; message: string }) =>
  JSON.stringify({ id: newRequestId(), custom_id: customId, response: null, error: { code: e.code, message: e.message } });
