/**
 * One error type for the whole platform. Anything thrown as an ApiError becomes an OpenAI-shaped error
 * body with the matching HTTP status in exactly one place (lib/http/error-handler.ts); anything else
 * becomes a 500 that hides its message from the client but is logged in full.
 */
export type ErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "permission_error"
  | "not_found_error"
  | "rate_limit_error"
  | "server_error"
  | "upstream_error";

export interface ErrorBody {
  error: { message: string; type: ErrorType; param: string | null; code: string | null };
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly type: ErrorType,
    message: string,
    readonly code: string | null = null,
    readonly param: string | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "ApiError";
  }

  toBody(): ErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }

  /** A plain object that survives structured clone across RPC (class identity does not). */
  toJSON(): SerializedApiError {
    return { status: this.status, headers: this.headers, ...this.toBody() };
  }

  static from(s: SerializedApiError): ApiError {
    const e = s.error;
    return new ApiError(s.status, e.type, e.message, e.code, e.param, s.headers ?? {});
  }
}

export interface SerializedApiError extends ErrorBody {
  status: number;
  headers?: Record<string, string>;
}

/** What every refusal for a spent daily token budget says: a request's 429, a session frame, a council's call. */
export const BUDGET_EXHAUSTED = "The daily token budget of this organization is exhausted.";

export const badRequest = (message: string, param: string | null = null, code: string | null = "invalid_value") =>
  new ApiError(400, "invalid_request_error", message, code, param);
export const unauthorized = (message = "Missing or invalid API key. Send 'Authorization: Bearer <key>'.") =>
  new ApiError(401, "authentication_error", message, "invalid_api_key");
export const forbidden = (message: string, code = "insufficient_scope") =>
  new ApiError(403, "permission_error", message, code);
export const notFound = (message: string, code = "not_found") => new ApiError(404, "not_found_error", message, code);
export const serverError = (message = "Internal server error.", code = "internal_error") =>
  new ApiError(500, "server_error", message, code);
export const upstreamError = (message: string, status = 502, code = "upstream_error", headers: Record<string, string> = {}) =>
  new ApiError(status, "upstream_error", message, code, null, headers);

export function isSerializedApiError(v: unknown): v is SerializedApiError {
  return typeof v === "object" && v !== null && "status" in v && "error" in v;
}
/**
 * Conflicts that no retry can resolve (the thing is already done, or is another kind of thing). OpenAI's SDKs
 * retry every 409 unless told `x-should-retry: false`: without it, cancelling a finished batch took three
 * requests and their backoff before the error came back. The others (a turn in progress, a file still in
 * use, a task not yet finished) may well succeed later and keep the SDK's retries.
 */
export const FINAL_CONFLICTS: ReadonlySet<string> = new Set([
  "already_rated", "batch_not_cancellable", "cancelled", "council_already_decided", "council_exists", "council_outcome_exists",
  "task_finished", "task_is_batch", "tool_name_taken",
]);

export const conflict = (message: string, code = "conflict") => new ApiError(409, "invalid_request_error", message, code);
