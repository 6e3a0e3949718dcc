import { rateLimiterName, stubFor } from "../../../lib/do-names.js";
import { released } from "../../../lib/rpc.js";
import type { Usage } from "../../../lib/protocol/index.js";
import type { Logger } from "../../../lib/log.js";
import type { OrchestratorEnv } from "./env.js";

/**
 * Settles an answered call with the tenant's RateLimiterDO: frees the concurrency slot the gateway reserved
 * and books the tokens (the object flushes them to D1 in batches and enforces the budget). Each call settles
 * with its own RPC, in its own context, not in a settlement shared with other calls: sharing I/O across
 * requests failed under load in the gateway (see its rate-limit middleware).
 */
export function settleCall(env: OrchestratorEnv, tenantId: string, leaseId: string | undefined, model: string, usage?: Usage): Promise<void> {
  return released(stubFor(env.RATE_LIMITER, rateLimiterName(tenantId)).settle(leaseId ?? null, { tenantId, model, usage }));
}

/**
 * `settleCall` for callers with nothing better to do when it fails than to log it: the lease then frees the
 * slot when it expires, and the answer the caller is owed goes out all the same. Never rejects.
 */
export function settleLogged(env: OrchestratorEnv, log: Logger, tenantId: string, leaseId: string | undefined, model: string, usage?: Usage): Promise<void> {
  return settleCall(env, tenantId, leaseId, model, usage).catch((err) => log.error("call could not be settled", { err, model, usage }));
}

/**
 * A call that did not parse still frees the slot it names, when it names one: the gateway treats every reply
 * as settled, so a call its orchestrator refused (another schema version mid-deploy) held its slot until the
 * lease expired.
 */
export async function settleUnparsed(env: OrchestratorEnv, raw: unknown, log: Logger): Promise<void> {
  const c = (raw ?? {}) as { tenantId?: unknown; leaseId?: unknown };
  if (typeof c.tenantId !== "string" || !c.tenantId || typeof c.leaseId !== "string") return;
  await settleLogged(env, log, c.tenantId, c.leaseId, "unparsed");
}
