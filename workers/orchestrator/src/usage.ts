import { rateLimiterName, stubFor } from "../../../lib/do-names.js";
import { GroupCommits } from "../../../lib/group-commit.js";
import { released } from "../../../lib/rpc.js";
import type { Usage } from "../../../lib/protocol/index.js";
import type { SettleItem } from "../../../durable-objects/rate-limiter/index.js";
import type { OrchestratorEnv } from "./env.js";
import { orchestratorSettings } from "./settings.js";

/** One group commit per tenant (one RateLimiterDO each). */
const commits = new GroupCommits<SettleItem, void>();

/**
 * Settles an answered call with the tenant's RateLimiterDO: frees the concurrency slot the gateway
 * reserved and books the tokens (the object flushes them to D1 in batches and enforces the budget).
 * Calls that end while another settlement of the tenant is on its way go together in the next one: a
 * settlement per request cost an RPC and a storage commit in the object, the largest part of a
 * passthrough request's CPU time. A slot is therefore freed at most one round trip later than alone.
 */
export function settleCall(env: OrchestratorEnv, tenantId: string, leaseId: string | undefined, model: string, usage?: Usage): Promise<void> {
  const item: SettleItem = { leaseId: leaseId ?? null, settlement: { tenantId, model, usage } };
  return commits.add(tenantId, orchestratorSettings(env).CIO_SETTLE_MAX_BATCH, item, async (items) => {
    await released(stubFor(env.RATE_LIMITER, rateLimiterName(tenantId)).settleMany(items));
    return items.map(() => undefined);
  });
}
