import type { ReserveRequest } from "../../../durable-objects/rate-limiter/limits.js";

/** A reservation with limits wide enough not to refuse, but for the ones a test sets. */
export const spec = (over: Partial<ReserveRequest> = {}): ReserveRequest => ({
  keyId: "k1",
  keyRpm: 100,
  keyConcurrency: 100,
  tenantRpm: 1000,
  tenantConcurrency: 1000,
  dailyTokenBudget: null,
  leaseTtlMs: 60_000,
  ...over,
});
