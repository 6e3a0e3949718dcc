/**
 * Brave Search web results, parsed from Brave's response shape, with its errors mapped to retryable or
 * not. Brave reports a bad key as 422 SUBSCRIPTION_TOKEN_INVALID (sometimes 401/403), a plan limit as 429.
 */
import { z } from "zod";
import { retryDelayMs } from "../../../../lib/http/retry-delay.js";
import { throttled } from "../../../../lib/tools/retry-after.js";
import { ToolFailure } from "../../../../lib/tools/tool-entrypoint.js";
import type { WebSearchArgs } from "./args.js";
import { spentWindow, type SpentWindow } from "./rate-limit.js";

const ResultSchema = z.object({
  title: z.string(),
  url: z.string(),
  description: z.string().default(""),
  age: z.string().optional(),
  page_age: z.string().optional(),
});

const SearchResponseSchema = z.object({
  query: z.object({ original: z.string() }).optional(),
  web: z.object({ results: z.array(ResultSchema) }).optional(),
});

const BraveErrorSchema = z.object({
  error: z.object({ code: z.string().optional(), detail: z.string().optional(), status: z.number().optional() }),
});

export interface SearchHit {
  title: string;
  url: string;
  description: string;
  age?: string;
}

export interface SearchRequest {
  baseUrl: string;
  apiKey: string;
  args: WebSearchArgs;
  count: number;
  signal: AbortSignal;
  /** The longest Retry-After of a 429 that is still worth a retry (settings.retryAfterMaxMs). */
  retryAfterMaxMs: number;
}

export async function braveWebSearch(req: SearchRequest): Promise<SearchHit[]> {
  const url = new URL("/res/v1/web/search", req.baseUrl);
  url.searchParams.set("q", req.args.query);
  url.searchParams.set("count", String(req.count));
  if (req.args.freshness) url.searchParams.set("freshness", req.args.freshness);
  if (req.args.country) url.searchParams.set("country", req.args.country.toUpperCase());
  const res = await fetch(url, {
    signal: req.signal,
    headers: { accept: "application/json", "x-subscription-token": req.apiKey },
  });
  if (!res.ok) throw await failureFrom(res, req.retryAfterMaxMs);
  const body = SearchResponseSchema.parse(await res.json());
  return (body.web?.results ?? []).map((r) => ({
    title: plain(r.title),
    url: r.url,
    description: plain(r.description),
    age: r.age ?? r.page_age,
  }));
}

/** Brave marks matches with <strong> and escapes entities; the model and the user want plain text. */
function plain(html: string): string {
  return html
    .replace(/<[^>]+>/g, "")
    .replace(/&quot;/g, '"')
    .replace(/&#x27;|&#39;/g, "'")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&");
}

async function failureFrom(res: Response, retryAfterMaxMs: number): Promise<ToolFailure> {
  const parsed = BraveErrorSchema.safeParse(await res.json().catch(() => null));
  const code = parsed.success ? parsed.data.error.code : undefined;
  const detail = parsed.success ? (parsed.data.error.detail ?? `HTTP ${res.status}`) : `HTTP ${res.status}`;
  if (res.status === 401 || res.status === 403 || code === "SUBSCRIPTION_TOKEN_INVALID") {
    return new ToolFailure("unauthorized", `Brave rejected the API key: ${detail}`);
  }
  if (res.status === 429) return rateLimited(res, `Brave rate limit: ${detail}`, retryAfterMaxMs);
  if (res.status >= 500) return new ToolFailure("upstream_unavailable", `Brave failed: ${detail}`, true);
  return new ToolFailure("bad_request", `Brave rejected the search: ${detail}`);
}

/**
 * A 429 waits for the window it spent (rate-limit.ts) or its Retry-After, whichever is longer: a
 * per-second limit is retried after its second, not within it, where every retry fails too; a spent
 * monthly quota is not retried at all, and the model hears when it comes back.
 */
function rateLimited(res: Response, message: string, retryAfterMaxMs: number): ToolFailure {
  const spent = spentWindow(res.headers);
  if (!spent) return throttled("rate_limited", message, res, retryAfterMaxMs);
  const wait = Math.max(spent.resetMs, retryDelayMs(res.headers) ?? 0);
  // Too long to hold the answer for: the model hears when the quota comes back, to tell the user.
  const until = wait > retryAfterMaxMs ? ` (${quota(spent)} is spent until ${new Date(Date.now() + wait).toISOString()})` : "";
  return throttled("rate_limited", `${message}${until}`, res, retryAfterMaxMs, wait);
}

const quota = (w: SpentWindow) => `the ${w.name} quota${w.limit === undefined ? "" : ` of ${w.limit} searches`}`;
