/**
 * Admission control: reserve a slot in the tenant's RateLimiterDO before forwarding, release it when the
 * response body has been fully sent (or the client went away). Rejections are OpenAI-style 429s.
 */
import type { Context, MiddlewareHandler } from "hono";
import { ApiError } from "../../../../lib/errors.js";
import { rateLimiterName, stubFor } from "../../../../lib/do-names.js";
import { GroupCommits } from "../../../../lib/group-commit.js";
import { released } from "../../../../lib/rpc.js";
import type { LimitReason, Reservation, ReserveRequest } from "../../../../durable-objects/rate-limiter/limits.js";
import type { RateLimiterDO } from "../../../../durable-objects/rate-limiter/index.js";
import type { GatewayApp } from "../env.js";

const MESSAGES: Record<LimitReason, string> = {
  key_rpm: "Rate limit reached for requests per minute on this API key.",
  tenant_rpm: "Rate limit reached for requests per minute on this organization.",
  key_concurrency: "Too many concurrent requests on this API key.",
  tenant_concurrency: "Too many concurrent requests on this organization.",
  daily_token_budget: "The daily token budget of this organization is exhausted.",
};

export function rateLimit(): MiddlewareHandler<GatewayApp> {
  return async function rateLimit(c, next) {
    const auth = c.get("auth");
    const stub = stubFor(c.env.RATE_LIMITER, rateLimiterName(auth.tenantId));
    const r = await reserve(c, stub, { keyId: auth.keyId, ...auth.limits, leaseTtlMs: c.get("settings").CIO_LEASE_TTL_MS });
    if (!r.ok) throw rejection(r);
    c.set("lease", { id: r.leaseId, handedOver: false });
    try {
      await next();
    } finally {
      // Once the orchestrator accepted the call it settles the slot when the answer ends (streams too);
      // anything that failed before that (validation, an exception) is released here.
      if (!c.get("lease")?.handedOver) {
        c.executionCtx.waitUntil(released(stub.release(r.leaseId)).catch((err) => c.get("log").error("lease release failed", { err })));
      }
    }
    c.header("x-ratelimit-limit-requests", String(r.limit));
    c.header("x-ratelimit-remaining-requests", String(Math.max(0, r.remaining)));
    c.header("x-ratelimit-reset-requests", `${Math.ceil(r.resetMs / 1000)}s`);
  };
}

/** One group commit per tenant (one RateLimiterDO each). */
const reservations = new GroupCommits<ReserveRequest, Reservation>();

/**
 * Reserves through the isolate's group commit. Every request of a tenant passes through its one object,
 * which handles one event at a time, so one call per request would cap a tenant at what that object can
 * take. Requests that arrive while a reservation of the tenant is on its way are decided together in the
 * next call (in order, so the limits stay exact); an idle isolate still sends at once. The batch is sent
 * by one of its requests, with that request's own stub (I/O objects belong to their request).
 */
function reserve(c: Context<GatewayApp>, stub: DurableObjectStub<RateLimiterDO>, item: ReserveRequest): Promise<Reservation> {
  return reservations.add(c.get("auth").tenantId, c.get("settings").CIO_RESERVE_MAX_BATCH, item, (items) => {
    // Released at once: an RPC result left to the GC keeps its call (and the object) referenced meanwhile.
    const call = released(stub.reserveMany(items));
    // The batch holds other requests' slots: it must finish even if this request's client goes away.
    c.executionCtx.waitUntil(call.catch(() => undefined));
    return call;
  });
}

function rejection(r: Extract<Reservation, { ok: false }>): ApiError {
  const budget = r.reason === "daily_token_budget";
  const headers: Record<string, string> = {
    "retry-after": String(Math.max(1, Math.ceil(r.retryAfterMs / 1000))),
    "retry-after-ms": String(r.retryAfterMs),
    "x-ratelimit-limit-requests": String(r.limit),
  };
  // A rate clears by itself within seconds; an exhausted budget does not, so clients must not loop on it.
  if (budget) headers["x-should-retry"] = "false";
  return new ApiError(429, "rate_limit_error", MESSAGES[r.reason], budget ? "budget_exceeded" : r.reason, null, headers);
}
