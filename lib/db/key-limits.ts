/**
 * A key's admission limits as D1 stores them (the key's rpm and concurrency, its tenant's, the tenant's daily
 * token budget; null = the default) and how they resolve. The gateway reads them on every request and a
 * session on every re-check of a socket's key, so a socket admits its turns with the limits a request would.
 */
import type { AdmissionLimits, LimitDefaults } from "../protocol/session.js";
import { schema } from "./index.js";

/** The columns to select from `api_keys` joined with `tenants`. */
export const limitColumns = {
  keyRpm: schema.apiKeys.rpmLimit,
  keyConcurrency: schema.apiKeys.concurrencyLimit,
  tenantRpm: schema.tenants.rpmLimit,
  tenantConcurrency: schema.tenants.concurrencyLimit,
  dailyTokenBudget: schema.tenants.dailyTokenBudget,
};
export type StoredLimits = { [K in keyof typeof limitColumns]: number | null };
export type KeyLimits = Omit<AdmissionLimits, "leaseTtlMs">;

/** A missing rate takes the default; a missing budget means unlimited. */
export function resolveLimits(r: StoredLimits, d: LimitDefaults): KeyLimits {
  return {
    keyRpm: r.keyRpm ?? d.keyRpm,
    keyConcurrency: r.keyConcurrency ?? d.keyConcurrency,
    tenantRpm: r.tenantRpm ?? d.tenantRpm,
    tenantConcurrency: r.tenantConcurrency ?? d.tenantConcurrency,
    dailyTokenBudget: r.dailyTokenBudget,
  };
}
