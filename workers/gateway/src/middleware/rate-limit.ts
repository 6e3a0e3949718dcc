/**
 * Admission control: reserve a slot in the tenant's RateLimiterDO before forwarding, release it when the
 * response body has been fully sent (or the client went away). Rejections are OpenAI-style 429s.
 */
import type { Context, MiddlewareHandler } from "hono";
import { ApiError, BUDGET_EXHAUSTED } from "../../../../lib/errors.js";
import { limiterStub } from "../../../../lib/do-names.js";
import { released } from "../../../../lib/rpc.js";
import type { LimitReason, Reservation, ReserveRequest } from "../../../../durable-objects/rate-limiter/limits.js";
import type { RateLimiterDO } from "../../../../durable-objects/rate-limiter/index.js";
import type { GatewayApp } from "../env.js";

const MESSAGES: Record<LimitReason, string> = {
  key_rpm: "Rate limit reached for requests per minute on this API key.",
  tenant_rpm: "Rate limit reached for requests per minute on this organization.",
  key_concurrency: "Too many concurrent requests on this API key.",
  tenant_concurrency: "Too many concurrent requests on this organization.",
  daily_token_budget: BUDGET_EXHAUSTED,
};

export type SpendsTokens = (c: Context<GatewayApp>) => Promise<boolean>;

/**
 * `spendsTokens: false` for a route that causes no model tokens (an upload): a spent daily budget does not
 * refuse it, as it refused uploading the file of tomorrow's batch; its rates and concurrency still apply. A
 * function decides per request, for a route where only some requests spend (a file analysis task does not).
 */
export function rateLimit({ spendsTokens = true }: { spendsTokens?: boolean | SpendsTokens } = {}): MiddlewareHandler<GatewayApp> {
  return async function rateLimit(c, next) {
    const auth = c.get("auth");
    const stub = limiterStub(c.env.RATE_LIMITER, auth.tenantId);
    const spends = typeof spendsTokens === "function" ? await spendsTokens(c) : spendsTokens;
    const limits = spends ? auth.limits : { ...auth.limits, dailyTokenBudget: null };
    const r = await reserve(stub, { keyId: auth.keyId, ...limits, leaseTtlMs: c.get("settings").CIO_LEASE_TTL_MS });
    if (!r.ok) throw rejection(r);
    const release = () => released(stub.release(r.leaseId)).catch((err) => c.get("log").error("lease release failed", { err }));
    c.set("lease", { id: r.leaseId, handedOver: false, release });
    try {
      await next();
    } finally {
      // Once the orchestrator accepted the call it settles the slot when the answer ends (streams too);
      // anything that failed before that (validation, an exception) is released here.
      if (!c.get("lease")?.handedOver) c.executionCtx.waitUntil(release());
    }
    // On the response in place: c.header() on a finished response copies the whole Response each time.
    const headers = c.res.headers;
    headers.set("x-ratelimit-limit-requests", String(r.limit));
    headers.set("x-ratelimit-remaining-requests", String(Math.max(0, r.remaining)));
    headers.set("x-ratelimit-reset-requests", `${Math.ceil(r.resetMs / 1000)}s`);
  };
}

/**
 * Each request reserves with its own call, in its own context. Requests of a tenant once shared calls (a group
 * commit per tenant); under load with clients dropping requests, waiting requests resumed in another request's
 * context, where the runtime refuses their I/O (500s), and once all later requests of the tenant waited for
 * good (test/e2e/client-disconnects.test.ts).
 */
function reserve(stub: DurableObjectStub<RateLimiterDO>, item: ReserveRequest): Promise<Reservation> {
  // Released at once: an RPC result left to the GC keeps its call (and the object) referenced meanwhile.
  // RPC typing turns the union result into a union of promises, so it is typed by its declaration.
  return released(stub.reserve(item) as unknown as Promise<Reservation>);
}

function rejection(r: Extract<Reservation, { ok: false }>): ApiError {
  const budget = r.reason === "daily_token_budget";
  const headers: Record<string, string> = {
    "retry-after": String(Math.max(1, Math.ceil(r.retryAfterMs / 1000))),
    "retry-after-ms": String(r.retryAfterMs),
    ...limitHeaders(r),
  };
  // A rate clears by itself within seconds; an exhausted budget does not, so clients must not loop on it.
  if (budget) headers["x-should-retry"] = "false";
  return new ApiError(429, "rate_limit_error", MESSAGES[r.reason], budget ? "budget_exceeded" : r.reason, null, headers);
}

/**
 * OpenAI's x-ratelimit-* headers for the limit that refused: client libraries pace themselves by them, so a
 * concurrency limit or a token budget must not pose as requests per minute. Concurrency has no such header.
 */
function limitHeaders(r: Extract<Reservation, { ok: false }>): Record<string, string> {
  const reset = `${Math.max(1, Math.ceil(r.retryAfterMs / 1000))}s`;
  if (r.reason === "key_rpm" || r.reason === "tenant_rpm") {
    return { "x-ratelimit-limit-requests": String(r.limit), "x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": reset };
  }
  if (r.reason === "daily_token_budget") {
    return { "x-ratelimit-limit-tokens": String(r.limit), "x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": reset };
  }
  return {};
}
