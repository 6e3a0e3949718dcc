/**
 * The one place where errors become responses: OpenAI's error shape, a fitting status, the request id.
 * Unknown errors are logged in full and answered with a generic 500 so internals never leak.
 */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { ApiError, FINAL_CONFLICTS, type ErrorType } from "../errors.js";
import type { Logger } from "../log.js";
import { retryDelayMs } from "./retry-delay.js";

const TYPE_BY_STATUS: Record<number, [ErrorType, string]> = {
  400: ["invalid_request_error", "invalid_request"],
  401: ["authentication_error", "invalid_api_key"],
  403: ["permission_error", "forbidden"],
  404: ["not_found_error", "not_found"],
  405: ["invalid_request_error", "method_not_allowed"],
  413: ["invalid_request_error", "request_too_large"],
  415: ["invalid_request_error", "unsupported_media_type"],
  429: ["rate_limit_error", "rate_limit_exceeded"],
};

export function asApiError(err: unknown): ApiError | undefined {
  if (err instanceof ApiError) return err;
  if (err instanceof HTTPException) {
    const [type, code] = TYPE_BY_STATUS[err.status] ?? ["server_error", "internal_error"];
    return new ApiError(err.status, type, err.message || "Request failed.", code);
  }
  return undefined;
}

export function errorResponse(c: Context, err: unknown, log?: Logger): Response {
  let api = asApiError(err);
  if (!api) {
    log?.error("unhandled error", { err });
    api = new ApiError(500, "server_error", "Internal server error.", "internal_error");
  } else if (api.status >= 500) {
    log?.error("request failed", { status: api.status, code: api.code, message: api.message });
  }
  const headers = new Headers(api.headers);
  withBothRetryHeaders(headers);
  if (api.status === 409 && FINAL_CONFLICTS.has(api.code ?? "")) headers.set("x-should-retry", "false");
  headers.set("content-type", "application/json");
  const rid = c.get("requestId" as never) as string | undefined;
  if (rid) headers.set("x-request-id", rid);
  return new Response(JSON.stringify(api.toBody()), { status: api.status, headers });
}

/**
 * OpenAI's SDKs read retry-after-ms before retry-after: an error that has one of them (a 429 of ours, a session's,
 * an upstream's 429 or 5xx, in seconds or as an HTTP date) gets the other, derived from it.
 */
export function withBothRetryHeaders(h: Headers, now = Date.now()) {
  const ms = h.get("retry-after-ms");
  const after = h.get("retry-after");
  if (ms && !after && Number.isFinite(Number(ms))) h.set("retry-after", String(Math.max(1, Math.ceil(Number(ms) / 1000))));
  if (after && !ms) {
    const delta = retryDelayMs(h, now);
    if (delta !== null) h.set("retry-after-ms", String(delta));
  }
}

