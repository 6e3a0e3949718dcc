/**
 * A minimal client for any OpenAI-compatible upstream (OpenAI, OpenRouter, Ollama, vLLM, llama.cpp).
 * It retries only what is safe to retry — the call failed before the upstream answered with a body we
 * could have used — with exponential backoff and jitter, and maps every failure to an OpenAI-shaped error.
 * A call that timed out is not retried: the upstream had it all that time and may still be generating (and
 * billing) it, so a retry doubled the wait and the bill.
 */
import { ApiError, upstreamError } from "../../../../../lib/errors.js";
import { retryDelayMs } from "../../../../../lib/http/retry-delay.js";
import type { Logger } from "../../../../../lib/log.js";
import type { ChatCompletion } from "../../../../../lib/protocol/index.js";
import { backoffMs, sleep } from "../../../../../lib/time.js";

export interface UpstreamConfig {
  baseUrl: string;
  apiKey?: string;
  /** Wait for the headers of a streamed call. */
  timeoutMs: number;
  /** Wait for a non-streamed call's whole answer, its headers and its body. */
  answerTimeoutMs: number;
  /** Wait for each next piece of a streamed answer once its headers came. */
  idleTimeoutMs: number;
  retries: number;
  retryBaseMs: number;
  /** The longest retry-after of an upstream's 429 that is waited out here rather than passed on. */
  retryMaxWaitMs: number;
}

export interface UpstreamResponse {
  /** A non-streamed answer's (and any failure's) body is already read; a stream's fails once the upstream idles too long. */
  response: Response;
  /** Time until the answer was ours (a stream's headers, a non-streamed answer's body), summed over attempts. */
  ms: number;
}

const RETRYABLE_STATUS = new Set([408, 429, 500, 502, 503, 504]);
const CLIENT_FAULT_STATUS = new Set([400, 404, 409, 413, 422]);

export async function postChat(
  cfg: UpstreamConfig,
  body: unknown,
  signal: AbortSignal,
  log: Logger,
  requestId?: string,
): Promise<UpstreamResponse> {
  const started = Date.now();
  const streamed = (body as { stream?: unknown } | null)?.stream === true;
  for (let attempt = 0; ; attempt++) {
    const last = attempt >= cfg.retries;
    try {
      const response = await fetchWithin(cfg, body, streamed, signal, requestId);
      if (response.ok) return { response: streamed ? await streamOrItsError(response) : response, ms: Date.now() - started };
      const error = await toApiError(response);
      const wait = last || !RETRYABLE_STATUS.has(response.status) ? null : retryWait(error, cfg, attempt);
      if (wait === null) throw error;
      log.warn("upstream answered with a retryable status", { status: response.status, attempt, waitMs: wait });
      await sleep(wait);
    } catch (err) {
      if (err instanceof ApiError || signal.aborted) throw err;
      if (last || err instanceof UpstreamTimeout) throw upstreamFailure(err);
      log.warn("upstream call failed; retrying", { attempt, error: String(err) });
      await sleep(backoffMs(attempt, cfg.retryBaseMs));
    }
  }
}

/**
 * How long to wait before asking again, or null to pass the failure on now: the upstream's own retry-after
 * is honoured when it is short, and a longer one (or a spent quota, which waiting does not fix) goes to the
 * client with its headers, instead of three calls in half a second that the client's SDK then repeated.
 */
function retryWait(error: ApiError, cfg: UpstreamConfig, attempt: number): number | null {
  if (error.headers["x-should-retry"] === "false") return null;
  const asked = retryDelayMs(new Headers(error.headers));
  if (asked !== null && asked > cfg.retryMaxWaitMs) return null;
  return Math.max(asked ?? 0, backoffMs(attempt, cfg.retryBaseMs));
}

/**
 * A 200 answer's body as a completion: an error it carries instead is that error (answeredError), and any
 * other body is the upstream's fault (502), not ours.
 */
export async function completionOf(res: Response): Promise<ChatCompletion> {
  const text = await res.text().catch(() => "");
  const body = parsed(text) as Partial<ChatCompletion> | null | undefined;
  if (body && Array.isArray(body.choices)) return body as ChatCompletion;
  throw answeredError(text, res) ?? upstreamError("The model upstream answered with a body that is not a chat completion.", 502, "upstream_bad_response");
}

/**
 * A stream request's 200 that is plain JSON, not SSE, and carries an error (an upstream that refuses before it
 * streams): that error, before any of the stream is sent, instead of a stream that "ended before the answer
 * finished". Any other answer is left to the relay as it came.
 */
async function streamOrItsError(res: Response): Promise<Response> {
  if (!isJson(res)) return res;
  const text = await res.text().catch(() => "");
  const failure = answeredError(text, res);
  if (failure) throw failure;
  return new Response(text, { status: res.status, statusText: res.statusText, headers: res.headers });
}

const isJson = (res: Response) => /\bjson\b/i.test(res.headers.get("content-type") ?? "");

/**
 * The failure a 200 body carries in place of an answer, `{"error":{…}}`, as OpenRouter and some proxies send
 * it, if it does: its message and code reach the client (a client branches on context_length_exceeded), and
 * a failure the request caused is the 400 it would have been. It was once a bare 502 upstream_bad_response
 * that lost both.
 */
function answeredError(text: string, res: Response): ApiError | undefined {
  const body = parsed(text) as { error?: unknown } | null | undefined;
  if (typeof body !== "object" || body === null || !body.error) return undefined;
  const { message, param, code, type } = errorFields(text, res);
  if (type === "invalid_request_error" || code === "context_length_exceeded") return new ApiError(400, "invalid_request_error", message, code, param);
  return upstreamError(`The model upstream failed: ${message}`, 502, code ?? "upstream_error");
}

function parsed(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

class UpstreamTimeout extends Error {
  constructor() {
    super("no answer within the timeout");
  }
}

/**
 * One call, its deadline covering what we wait for before the answer is ours: a streamed call's headers, a
 * non-streamed call's whole body (its headers may come long before it: a proxy flushing them early, a server
 * that stalls), any failure's body. The deadline once ended with the headers, so an upstream that sent them and
 * then nothing held the request and its concurrency slot forever. A stream's long answer is not cut by it: its
 * body fails instead when the upstream sends nothing for idleTimeoutMs (idleBounded).
 */
async function fetchWithin(cfg: UpstreamConfig, body: unknown, streamed: boolean, signal: AbortSignal, requestId?: string): Promise<Response> {
  // A timer we can clear once the answer is ours (AbortSignal.timeout cannot be cleared, and would cut the stream).
  const upstream = new AbortController();
  const timer = setTimeout(() => upstream.abort(new UpstreamTimeout()), streamed ? cfg.timeoutMs : cfg.answerTimeoutMs);
  const both = AbortSignal.any([signal, upstream.signal]);
  try {
    const res = await fetch(`${cfg.baseUrl.replace(/\/$/, "")}/chat/completions`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        ...(cfg.apiKey ? { authorization: `Bearer ${cfg.apiKey}` } : {}),
        // OpenAI's tracing header: the upstream's logs and ours name the request alike.
        ...(requestId ? { "x-client-request-id": requestId } : {}),
      },
      body: JSON.stringify(body),
      signal: both,
    });
    const init = { status: res.status, statusText: res.statusText, headers: res.headers };
    if (!res.body) return res;
    // A stream request answered in plain JSON (an error, most likely) is read whole, like any other answer.
    if (streamed && res.ok && !isJson(res)) return new Response(idleBounded(res.body, cfg.idleTimeoutMs, upstream), init);
    return new Response(await bodyWithin(res, both), init);
  } catch (err) {
    throw upstream.signal.aborted ? upstream.signal.reason : err;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A body read whole unless `signal` aborts first (whether or not the body itself heeds it). A 200 body that
 * breaks off is the upstream's fault, and not retried: it had answered, and may have billed the call.
 */
async function bodyWithin(res: Response, signal: AbortSignal): Promise<ArrayBuffer> {
  let stop: (reason: unknown) => void = () => {};
  const aborted = new Promise<never>((_, reject) => (stop = () => reject(signal.reason)));
  signal.addEventListener("abort", stop, { once: true });
  try {
    if (signal.aborted) stop(signal.reason);
    return await Promise.race([res.arrayBuffer(), aborted]);
  } catch (err) {
    if (signal.aborted) {
      res.body?.cancel(signal.reason).catch(() => {});
      throw signal.reason;
    }
    if (!res.ok) return new ArrayBuffer(0); // the failure's status still tells it
    throw upstreamError(`The model upstream's answer broke off: ${String(err)}`, 502, "upstream_bad_response");
  } finally {
    signal.removeEventListener("abort", stop);
  }
}

/**
 * A stream's body that fails with a 504-like error, and aborts the upstream call, when the upstream sends
 * nothing for `ms`: the relay passes that on as the stream's error event, and the request and its slot are freed,
 * instead of a stalled upstream holding them until the client gives up. Only the upstream's wait counts: a
 * piece is asked for when the reader wants one (no read-ahead), so a slow reader never trips it.
 */
function idleBounded(body: ReadableStream<Uint8Array>, ms: number, upstream: AbortController): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>(
    {
      async pull(c) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const idle = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(idleError(ms)), ms)));
        try {
          const r = await Promise.race([reader.read(), idle]);
          if (r.done) c.close();
          else c.enqueue(r.value);
        } catch (err) {
          upstream.abort(err);
          reader.cancel(err).catch(() => {});
          throw err;
        } finally {
          clearTimeout(timer);
        }
      },
      cancel: (reason) => reader.cancel(reason),
    },
    { highWaterMark: 0 },
  );
}

const idleError = (ms: number) => upstreamError(`The model upstream sent nothing for ${Math.round(ms / 1000)} s; the answer was cut off.`, 504, "upstream_timeout");

function upstreamFailure(err: unknown): ApiError {
  if (err instanceof UpstreamTimeout) return upstreamError("The model upstream did not answer in time.", 504, "upstream_timeout");
  return upstreamError(`The model upstream could not be reached: ${String(err)}`, 502, "upstream_unreachable");
}

/** Headers of an upstream's failure that tell the client when, and whether, to ask again. */
const RETRY_HEADERS = ["retry-after", "retry-after-ms", "x-should-retry"];

async function toApiError(res: Response): Promise<ApiError> {
  const { message, param, code } = errorFields(await res.text().catch(() => ""), res);
  if (CLIENT_FAULT_STATUS.has(res.status)) return new ApiError(res.status, "invalid_request_error", message, code, param);
  const retry: Record<string, string> = {};
  for (const h of RETRY_HEADERS) if (res.headers.get(h) !== null) retry[h] = res.headers.get(h)!;
  if (res.status === 429) {
    // A spent quota (OpenAI's insufficient_quota) comes as a 429 but does not pass by waiting.
    if (code === "insufficient_quota") retry["x-should-retry"] = "false";
    return new ApiError(429, "rate_limit_error", `The model upstream is rate limiting: ${message}`, code ?? "upstream_rate_limited", null, retry);
  }
  // This platform's own misconfiguration: no retry of the client's mends it, so its SDK is told not to make three.
  if (res.status === 401 || res.status === 403) return upstreamError("The model upstream rejected this platform's credentials.", 502, "upstream_auth", { "x-should-retry": "false" });
  // A timeout of the upstream's (or of a gateway before it) that outlasted our retries is one to the client, as ours is.
  if (res.status === 504 || res.status === 408) return upstreamError(`The model upstream timed out (HTTP ${res.status}): ${message}`, 504, "upstream_timeout", retry);
  // An overloaded upstream's 503 says when to come back: that is waited out here when short, and passed on
  // when long, instead of asking again within half a second and telling the client nothing.
  return upstreamError(`The model upstream failed with HTTP ${res.status}: ${message}`, 502, "upstream_error", retry);
}

/**
 * message, param and code from an error body in OpenAI's shape or another server's: vLLM's top-level
 * `{"object":"error","message":…,"code":400}`, a bare string, numeric codes (our error shape has strings), or
 * an HTML error page, which is no message for a client.
 */
function errorFields(text: string, res: Response): { message: string; param: string | null; code: string | null; type: string | null } {
  const fallback = `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ""}`;
  const asText = (v: unknown) => (typeof v === "string" || typeof v === "number" ? String(v) : null);
  const body = parsed(text);
  if (body === undefined) return { message: text.trimStart().startsWith("<") ? fallback : text.slice(0, 500) || fallback, param: null, code: null, type: null };
  const b = (body ?? {}) as { error?: unknown; message?: unknown; code?: unknown; param?: unknown };
  if (typeof b.error === "string") return { message: b.error, param: null, code: null, type: null };
  const e = (typeof b.error === "object" && b.error !== null ? b.error : b) as { message?: unknown; param?: unknown; code?: unknown; type?: unknown };
  return { message: asText(e.message) ?? (text.slice(0, 500) || fallback), param: asText(e.param), code: asText(e.code), type: asText(e.type) };
}
