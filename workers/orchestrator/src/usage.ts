import { limiterStub } from "../../../lib/do-names.js";
import { released } from "../../../lib/rpc.js";
import { bookUsage } from "../../../lib/usage-booking.js";
import { sleep } from "../../../lib/time.js";
import type { Usage } from "../../../lib/protocol/index.js";
import type { Logger } from "../../../lib/log.js";
import type { OrchestratorEnv } from "./env.js";

/**
 * Settles an answered call with the tenant's RateLimiterDO: frees the concurrency slot the gateway reserved
 * and books the tokens (the object flushes them to D1 in batches and enforces the budget), with an RPC of its
 * own. Chat answers go through `settleBatched` below instead (unless CIO_SETTLE_BATCH_MS is 0), which shares
 * the RPC but never a promise: waiting on I/O another request started failed under load in the gateway (see
 * its rate-limit middleware).
 */
export function settleCall(env: OrchestratorEnv, tenantId: string, leaseId: string | undefined, model: string, usage?: Usage): Promise<void> {
  return released(limiterStub(env.RATE_LIMITER, tenantId).settle(leaseId ?? null, { tenantId, model, usage }));
}

/** A model call the tenant pays for outside its chats (a council's assistant, the sql tool): see bookUsage. */
export function bookCall(env: Pick<OrchestratorEnv, "RATE_LIMITER">, log: Logger, what: string, tenantId: string, model: string, usage: Usage): Promise<void> {
  return bookUsage(env.RATE_LIMITER, log, what, tenantId, model, usage);
}

type Pending = { tenantId: string; leaseId: string | null; model: string; usage?: Usage };
/** Settlements waiting to be sent, by limiter namespace (tests bind others) and tenant. */
const open = new WeakMap<object, Map<string, { items: Pending[]; requestIds: string[] }>>();

/**
 * Settles a call together with the tenant's other calls that end within `windowMs`: one RPC to the limiter
 * for the lot instead of one per call, which halves the limiter's calls per request under load (reserve and
 * settle were two of a passthrough request's four cross-Worker hops). The first call of a window sends it,
 * from its own context (its caller keeps that alive until the send ends, see chat.ts); the others hand over
 * plain data and wait on nothing, so no request waits on I/O started by another (what failed when the
 * gateway's reservations were shared). A send that fails is logged with every request id it carried, and
 * its slots are freed by a second call (see `freeSlots`). The slots free up to `windowMs` after the answers
 * went out; the limiter lets a request refused for concurrency wait for that.
 */
export function settleBatched(env: OrchestratorEnv, log: Logger, requestId: string, windowMs: number, item: Pending): Promise<void> {
  let byTenant = open.get(env.RATE_LIMITER);
  if (!byTenant) open.set(env.RATE_LIMITER, (byTenant = new Map()));
  const joined = byTenant.get(item.tenantId);
  if (joined) {
    joined.items.push(item);
    joined.requestIds.push(requestId);
    return Promise.resolve();
  }
  const batch = { items: [item], requestIds: [requestId] };
  byTenant.set(item.tenantId, batch);
  return sleep(windowMs)
    .then(() => {
      byTenant.delete(item.tenantId);
      return released(limiterStub(env.RATE_LIMITER, item.tenantId).settleMany(batch.items));
    })
    .catch(async (err) => {
      log.error("calls could not be settled", { err, calls: batch.items.length, requestIds: batch.requestIds, usage: batch.items.map((i) => i.usage ?? null) });
      await freeSlots(env, log, item.tenantId, batch.items);
    });
}

/**
 * `settleCall` for callers with nothing better to do when it fails than to log it (and free the slot, see
 * `freeSlots`): the answer the caller is owed goes out all the same. Never rejects.
 */
export function settleLogged(env: OrchestratorEnv, log: Logger, tenantId: string, leaseId: string | undefined, model: string, usage?: Usage): Promise<void> {
  return settleCall(env, tenantId, leaseId, model, usage).catch(async (err) => {
    log.error("call could not be settled", { err, model, usage });
    await freeSlots(env, log, tenantId, [{ tenantId, leaseId: leaseId ?? null, model }]);
  });
}

/**
 * After a failed settlement, the slots alone are freed with a second call: ending a lease twice does nothing,
 * while booking the usage again would count it twice when only the reply of the first call was lost. Without
 * it a failed settlement held each slot until its lease expired (15 minutes by default), and with batched
 * settlements several at once. The usage is in the log line before, for reconciling by hand.
 */
async function freeSlots(env: OrchestratorEnv, log: Logger, tenantId: string, items: Pending[]): Promise<void> {
  const slots = items.filter((i) => i.leaseId !== null).map(({ leaseId, model }) => ({ tenantId, leaseId, model }));
  if (!slots.length) return;
  try {
    await released(limiterStub(env.RATE_LIMITER, tenantId).settleMany(slots));
  } catch (err) {
    log.error("slots not freed after a failed settlement; they free when their leases expire", { err, leaseIds: slots.map((s) => s.leaseId) });
  }
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
