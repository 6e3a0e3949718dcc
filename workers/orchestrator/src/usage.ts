import { rateLimiterName, stubFor } from "../../../lib/do-names.js";
import type { Usage } from "../../../lib/protocol/index.js";
import type { OrchestratorEnv } from "./env.js";

/**
 * Settles an answered call with the tenant's RateLimiterDO: frees the concurrency slot the gateway
 * reserved and books the tokens (the object flushes them to D1 in batches and enforces the budget).
 */
export function settleCall(env: OrchestratorEnv, tenantId: string, leaseId: string | undefined, model: string, usage?: Usage) {
  return stubFor(env.RATE_LIMITER, rateLimiterName(tenantId)).settle(leaseId ?? null, { tenantId, model, usage });
}
