/**
 * Booking a model call the tenant pays for outside its chats (a council's assistant, the sql tool writing a
 * query, an image task, a tool call that reports usage): its tokens go to the tenant's RateLimiterDO like a
 * chat's, so the daily budget and the usage rows see them. No slot to free. A booking that fails is logged
 * (`what` names the call); the work it paid for is not thrown away for it.
 */
import type { RateLimiterDO } from "../durable-objects/rate-limiter/index.js";
import { tenantStanding } from "./db/key-limits.js";
import { limiterStub } from "./do-names.js";
import type { Logger } from "./log.js";
import type { Usage } from "./protocol/index.js";
import { released } from "./rpc.js";

export function bookUsage(ns: DurableObjectNamespace<RateLimiterDO>, log: Logger, what: string, tenantId: string, model: string, usage: Usage): Promise<void> {
  return released(limiterStub(ns, tenantId).settle(null, { tenantId, model, usage })).catch((err: unknown) =>
    log.error(`${what} usage could not be booked`, { err, tenantId, model, usage }),
  );
}

/** Work begun by `beginSpending`: `end` books what it used (a model and its usage), or nothing when it failed. */
export interface Spending {
  end(used: { model: string; usage: Usage } | null): Promise<void>;
}

/**
 * Begins work whose tokens are known before it runs (an image task): null when the tenant's daily budget, as
 * D1 has it now, is spent, counting the tenant's work begun and not yet ended; otherwise its tokens count
 * against the budget until `end` (or for `holdMs`, should the work die first), so work started together
 * cannot all pass a budget that one of them spends. A booking that fails is logged, as in `bookUsage`.
 */
export async function beginSpending(
  env: { DB: D1Database; RATE_LIMITER: DurableObjectNamespace<RateLimiterDO> },
  log: Logger,
  what: string,
  tenantId: string,
  tokens: number,
  holdMs: number,
): Promise<Spending | null> {
  const budget = (await tenantStanding(env.DB, tenantId)).dailyTokenBudget;
  const stub = limiterStub(env.RATE_LIMITER, tenantId);
  const holdId = await released(stub.beginWork({ budget, tokens, ttlMs: holdMs }));
  if (holdId === null) return null;
  return {
    end: (used) =>
      released(stub.endWork(holdId, used && { tenantId, ...used })).catch((err: unknown) =>
        log.error(`${what} usage could not be booked`, { err, tenantId, ...used }),
      ),
  };
}

/** How long past its own time limit work's tokens stay held should it die before it ends them (see `beginSpending`). */
export const HOLD_MARGIN_MS = 30_000;
