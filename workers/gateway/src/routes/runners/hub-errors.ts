/** A hub's typed query error as the public API answers it: an OpenAI-shaped error with a fitting status. */
import { ApiError, type ErrorType } from "../../../../../lib/errors.js";
import type { HubError, HubErrorCode } from "../../../../../lib/protocol/runner-hub.js";
import { errorBody } from "../openapi.js";

const STATUS: Record<HubErrorCode, [number, ErrorType]> = {
  runner_offline: [503, "upstream_error"],
  runner_disconnected: [502, "upstream_error"],
  invalid_request: [400, "invalid_request_error"],
  policy_denied: [403, "permission_error"],
  unknown_query: [404, "not_found_error"],
  bad_params: [400, "invalid_request_error"],
  timeout: [504, "upstream_error"],
  cancelled: [409, "invalid_request_error"],
  busy: [503, "upstream_error"],
  db_unavailable: [502, "upstream_error"],
  db_error: [400, "invalid_request_error"],
  row_too_large: [400, "invalid_request_error"],
  protocol_error: [502, "upstream_error"],
  internal: [502, "upstream_error"],
  query_in_progress: [409, "invalid_request_error"],
};

/**
 * The statuses a query through the hub can fail with, each described by the codes that answer it, from the
 * table above so the document cannot drift from it; `also` adds the route's own codes (runner_not_found).
 */
export function hubErrorResponses(also: Record<string, number> = {}) {
  const codes = new Map<number, string[]>();
  const all: [string, number][] = [...Object.entries(STATUS).map(([code, [status]]): [string, number] => [code, status]), ...Object.entries(also)];
  for (const [code, status] of all) codes.set(status, [...(codes.get(status) ?? []), code]);
  return Object.fromEntries([...codes].map(([status, list]) => [status, errorBody(list.join(", "))]));
}

export function hubErrorToApi(e: HubError): ApiError {
  const [status, type] = STATUS[e.code];
  return new ApiError(status, type, e.message, e.code);
}
