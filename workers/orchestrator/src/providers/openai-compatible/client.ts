/**
 * A minimal client for any OpenAI-compatible upstream (OpenAI, OpenRouter, Ollama, vLLM, llama.cpp).
 * It retries only what is safe to retry — the call failed before the upstream answered with a body we
 * could have used — with exponential backoff and jitter, and maps every failure to an OpenAI-shaped error.
 * A call that timed out is not retried: the upstream had it all that time and may still be generating (and
 * billing) it, so a retry doubled the wait and the bill.
 */
import { ApiError, upstreamError } from "../../../../../lib/errors.js";
import type { Logger } from "../../../../../lib/log.js";
import type { ChatCompletion } from "../../../../../lib/protocol/index.js";
import { backoffMs, sleep } from "../../../../../lib/time.js";

export interface UpstreamConfig {
  baseUrl: string;
  apiKey?: string;
  /** Wait for the headers of a streamed call. */
  timeoutMs: number;
  /** Wait for a non-streamed call, whose headers come with the whole answer. */
  answerTimeoutMs: number;
  retries: number;
  retryBaseMs: number;
}

export interface UpstreamResponse {
  response: Response;
  /** Time until the upstream's headers arrived, summed over attempts. */
  ms: number;
}

const RETRYABLE_STATUS = new Set([408, 429, 500, 502, 503, 504]);
const CLIENT_FAULT_STATUS = new Set([400, 404, 409, 413, 422]);

export async function postChat(
  cfg: UpstreamConfig,
  body: unknown,
  signal: AbortSignal,
  log: Logger,
): Promise<UpstreamResponse> {
  const started = Date.now();
  for (let attempt = 0; ; attempt++) {
    const last = attempt >= cfg.retries;
    try {
      const response = await fetchWithHeaderTimeout(cfg, body, signal);
      if (response.ok) return { response, ms: Date.now() - started };
      if (last || !RETRYABLE_STATUS.has(response.status)) throw await toApiError(response);
      await response.body?.cancel();
      log.warn("upstream answered with a retryable status", { status: response.status, attempt });
    } catch (err) {
      if (err instanceof ApiError || signal.aborted) throw err;
      if (last || err instanceof HeaderTimeout) throw upstreamFailure(err);
      log.warn("upstream call failed; retrying", { attempt, error: String(err) });
    }
    await sleep(backoffMs(attempt, cfg.retryBaseMs));
  }
}

/** A 200 answer's body as a completion: a body that is anything else is the upstream's fault (502), not ours. */
export async function completionOf(res: Response): Promise<ChatCompletion> {
  const body = (await res.json().catch(() => undefined)) as Partial<ChatCompletion> | null | undefined;
  if (body && Array.isArray(body.choices)) return body as ChatCompletion;
  throw upstreamError("The model upstream answered with a body that is not a chat completion.", 502, "upstream_bad_response");
}

class HeaderTimeout extends Error {
  constructor() {
    super("no response headers within the timeout");
  }
}

/**
 * The timeout covers the wait for headers only: a long streamed answer must not be cut off by it. A
 * non-streamed answer's headers come with the whole answer, so it waits for that, as long as a generation takes.
 */
async function fetchWithHeaderTimeout(cfg: UpstreamConfig, body: unknown, signal: AbortSignal) {
  // A timer we can clear once headers arrive (AbortSignal.timeout cannot be cleared, and would cut the body).
  const headers = new AbortController();
  const streamed = (body as { stream?: unknown } | null)?.stream === true;
  const timer = setTimeout(() => headers.abort(new HeaderTimeout()), streamed ? cfg.timeoutMs : cfg.answerTimeoutMs);
  try {
    return await fetch(`${cfg.baseUrl.replace(/\/$/, "")}/chat/completions`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        ...(cfg.apiKey ? { authorization: `Bearer ${cfg.apiKey}` } : {}),
      },
      body: JSON.stringify(body),
      signal: AbortSignal.any([signal, headers.signal]),
    });
  } catch (err) {
    throw headers.signal.aborted ? headers.signal.reason : err;
  } finally {
    clearTimeout(timer);
  }
}

function upstreamFailure(err: unknown): ApiError {
  if (err instanceof HeaderTimeout) return upstreamError("The model upstream did not answer in time.", 504, "upstream_timeout");
  return upstreamError(`The model upstream could not be reached: ${String(err)}`, 502, "upstream_unreachable");
}

async function toApiError(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => "");
  let message = text.slice(0, 500) || res.statusText;
  let param: string | null = null;
  let code: string | null = null;
  try {
    const parsed = JSON.parse(text) as { error?: { message?: string; param?: string; code?: string } | string };
    if (typeof parsed.error === "string") message = parsed.error;
    else if (parsed.error?.message) ({ message, param = null, code = null } = parsed.error as never);
  } catch {
    /* a non-JSON error body is kept as text */
  }
  if (CLIENT_FAULT_STATUS.has(res.status)) return new ApiError(res.status, "invalid_request_error", message, code, param);
  if (res.status === 429) {
    const retry = res.headers.get("retry-after");
    return new ApiError(429, "rate_limit_error", `The model upstream is rate limiting: ${message}`, "upstream_rate_limited", null, retry ? { "retry-after": retry } : {});
  }
  if (res.status === 401 || res.status === 403) return upstreamError("The model upstream rejected this platform's credentials.", 502, "upstream_auth");
  return upstreamError(`The model upstream failed with HTTP ${res.status}: ${message}`);
}
