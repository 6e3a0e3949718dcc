/**
 * GET a JSON document through the shared allow-listed fetch (every redirect hop re-checked, at most
 * `maxBytes` of body read), and map HTTP failures to retryable or not.
 */
import { fetchAllowed, readLimited } from "../../../../lib/tools/fetch-allowed.js";
import { refusalReason } from "../../../../lib/tools/refusal-reason.js";
import { throttled } from "../../../../lib/tools/retry-after.js";
import { ToolFailure, type ToolContext } from "../../../../lib/tools/tool-entrypoint.js";
import type { Settings } from "./settings.js";

export interface Fetched {
  url: string;
  status: number;
  json: unknown;
}

export async function fetchJson(start: URL, settings: Settings, ctx: Pick<ToolContext, "signal" | "userAgent">): Promise<Fetched> {
  const { url, res } = await fetchAllowed(start, {
    allow: settings.allow,
    setting: "HTTP_JSON_ALLOW",
    maxRedirects: settings.maxRedirects,
    signal: ctx.signal,
    userAgent: ctx.userAgent,
    headers: { accept: "application/json" },
  });
  if (!res.ok) throw await httpFailure(res, settings.retryAfterMaxMs);
  const bytes = await readLimited(res, settings.maxBytes, () => tooLarge(settings.maxBytes));
  return { url: url.toString(), status: res.status, json: parseJson(new TextDecoder().decode(bytes)) };
}

/**
 * 408, 425 and 5xx may pass with time, a 429 after the wait it names; any other 4xx will not. A 4xx's
 * message quotes the start of its body, which says why.
 */
async function httpFailure(res: Response, retryAfterMaxMs: number): Promise<ToolFailure> {
  const why = await refusalReason(res);
  const status = `the server answered HTTP ${res.status} ${res.statusText}`.trim();
  const message = why ? `${status}: ${why}` : status;
  if (res.status === 429) return throttled("rate_limited", message, res, retryAfterMaxMs);
  const retryable = res.status === 408 || res.status === 425 || res.status >= 500;
  return new ToolFailure(retryable ? "upstream_unavailable" : "upstream_rejected", message, retryable);
}

const tooLarge = (maxBytes: number) =>
  new ToolFailure("response_too_large", `the response is larger than the ${maxBytes}-byte limit`);

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ToolFailure("not_json", "the response is not valid JSON");
  }
}
