/**
 * A key's admission limits as D1 stores them (the key's rpm and concurrency, its tenant's, the tenant's daily
 * token budget; null = the default) and how they resolve. The gateway reads them on every request, a session
 * on every re-check of a socket's key and queued work (batch parts, chat_completion tasks) when it runs, so
 * all of them admit with the limits a request would, and stop when the key or the tenant no longer holds.
 */
import { and, eq } from "drizzle-orm";
import type { AdmissionLimits, LimitDefaults } from "../protocol/session.js";
import { openDb, schema } from "./index.js";

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

export type KeyStanding = { status: "ok"; limits: StoredLimits; scopes: string[] } | { status: "api_key_revoked" | "tenant_suspended" };

/** Whether a key still holds, its stored limits and scopes: the conditions the gateway checks on every request. */
export async function keyStanding(db: D1Database, tenantId: string, keyId: string): Promise<KeyStanding> {
  const k = schema.apiKeys;
  const t = schema.tenants;
  const [r] = await openDb(db)
    .select({ revokedAt: k.revokedAt, status: t.status, scopes: k.scopes, ...limitColumns })
    .from(k)
    .innerJoin(t, eq(t.id, k.tenantId))
    .where(and(eq(k.id, keyId), eq(k.tenantId, tenantId)))
    .limit(1);
  // A key that is gone (or never was this tenant's) is as good as revoked.
  if (!r || r.revokedAt !== null) return { status: "api_key_revoked" };
  if (r.status !== "active") return { status: "tenant_suspended" };
  const { revokedAt: _, status: __, scopes, ...limits } = r;
  return { status: "ok", limits, scopes };
}

/**
 * For work no request's key and limits came with (a chat's tool started it, a council's round, an image task
 * paying for its picture): whether its tenant still holds, and its daily token budget now (null: none). A
 * tenant gone counts as suspended.
 */
export async function tenantStanding(db: D1Database, tenantId: string): Promise<{ status: "ok" | "tenant_suspended"; dailyTokenBudget: number | null }> {
  const t = schema.tenants;
  const [r] = await openDb(db).select({ status: t.status, budget: t.dailyTokenBudget }).from(t).where(eq(t.id, tenantId)).limit(1);
  return { status: r?.status === "active" ? "ok" : "tenant_suspended", dailyTokenBudget: r?.budget ?? null };
}
