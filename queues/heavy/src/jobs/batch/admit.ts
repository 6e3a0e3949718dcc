/**
 * Batch requests (and chat_completion tasks, ../chat-completion.ts) are admitted by the tenant's
 * RateLimiterDO exactly like requests through the gateway, under the limits of the key that created the
 * batch or task, so queued work cannot exceed the tenant's rates. Those limits are read again from D1 when
 * the work runs (once per part or task): a budget set or a limit lowered since the batch was created applies,
 * and a key revoked or a tenant suspended since stops the work (api_key_revoked, tenant_suspended). A request
 * over the rate waits (up to CIO_BATCH_RATE_WAIT_MS in all) and then throws RateLimited, on which part.ts
 * hands the part back to the queue with a delay; an exhausted daily budget fails the request.
 */
import { keyStanding, resolveLimits, type KeyLimits } from "../../../../../lib/db/key-limits.js";
import { limiterStub } from "../../../../../lib/do-names.js";
import type { HeavyEnv } from "../../env.js";
import type { BatchRow } from "./store.js";

/** A rate limit holds the work for a while: the tenant's (here), or the model's 429 with a Retry-After (reply.ts). */
export class RateLimited extends Error {
  constructor(
    readonly retryAfterMs: number,
    readonly by = "the tenant's rate limit",
  ) {
    super(`${by} holds this work for ${retryAfterMs} ms`);
    this.name = "RateLimited";
  }

  /** The delay to send the work back to the queue with: until the limit frees up, within what Queues accepts. */
  get delaySeconds(): number {
    return Math.min(MAX_DELAY_S, Math.max(1, Math.ceil(this.retryAfterMs / 1000)));
  }
}

/** The longest delay Cloudflare Queues accepts on a message. */
const MAX_DELAY_S = 43_200;

export type Admission = { ok: true; leaseId: string } | { ok: false; code: string; message: string };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Who asks: the batch row, or a task's tenant with the key and limits the gateway stored on it. */
export type Admitted = Pick<BatchRow, "tenantId" | "keyId" | "limits">;

export const REFUSED = {
  api_key_revoked: "The API key that created this work has been revoked.",
  tenant_suspended: "This organization is suspended.",
} as const;

/** The key's standing now, read once per `who` (a part's run, a task's run): every request of a part asks. */
const standings = new WeakMap<Admitted, Promise<{ ok: true; limits: KeyLimits } | Extract<Admission, { ok: false }>>>();

function standing(env: HeavyEnv, who: Admitted) {
  let p = standings.get(who);
  if (!p) {
    p = keyStanding(env.DB, who.tenantId, who.keyId).then((s) =>
      s.status === "ok"
        ? // Unset limits take the values stored with the work (the gateway's defaults when it was created).
          { ok: true as const, limits: resolveLimits(s.limits, who.limits as KeyLimits) }
        : { ok: false as const, code: s.status, message: REFUSED[s.status] },
    );
    standings.set(who, p);
  }
  return p;
}

export async function admit(env: HeavyEnv, batch: Admitted, budget: { waitedMs: number; maxWaitMs: number; leaseTtlMs: number }): Promise<Admission> {
  const now = await standing(env, batch);
  if (!now.ok) return now;
  const stub = limiterStub(env.RATE_LIMITER, batch.tenantId);
  const l = now.limits;
  for (;;) {
    const r = await stub.reserve({ keyId: batch.keyId, ...l, leaseTtlMs: budget.leaseTtlMs });
    if (r.ok) return { ok: true, leaseId: r.leaseId };
    if (r.reason === "daily_token_budget") return { ok: false, code: "budget_exceeded", message: "The daily token budget of this organization is exhausted." };
    if (budget.waitedMs + r.retryAfterMs > budget.maxWaitMs) throw new RateLimited(r.retryAfterMs);
    budget.waitedMs += r.retryAfterMs;
    await sleep(r.retryAfterMs);
  }
}

export const release = (env: HeavyEnv, tenantId: string, leaseId: string) => limiterStub(env.RATE_LIMITER, tenantId).release(leaseId);
