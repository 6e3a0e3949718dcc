/**
 * API key lookup. Keys are stored as SHA-256 hashes; a lookup joins the tenant for its status and limits.
 * Results (including "no such key") are cached per isolate for at most CIO_KEY_CACHE_TTL_S (≤ 30 s), which
 * keeps D1 off the hot path while guaranteeing a revoked key stops working within 30 seconds. Misses are kept
 * apart, in a smaller cache: a flood of made-up tokens must not push the real keys out.
 */
import { and, eq, isNull, type SQL } from "drizzle-orm";
import { openDb, schema } from "../../../lib/db/index.js";
import { limitColumns, resolveLimits } from "../../../lib/db/key-limits.js";
import type { LimitDefaults } from "../../../lib/protocol/session.js";
import type { GatewaySettings } from "./settings.js";
import type { AuthContext } from "./env.js";

export type KeyLookup = (AuthContext & { tenantStatus: string }) | null;

type Cached = Map<string, { value: KeyLookup; expires: number }>;
const keys: Cached = new Map();
const misses: Cached = new Map();
const MAX_KEYS = 10_000;
const MAX_MISSES = 1_000;

export async function lookupKey(d1: D1Database, hash: string, s: GatewaySettings, now = Date.now()): Promise<KeyLookup> {
  const hit = keys.get(hash) ?? misses.get(hash);
  if (hit && hit.expires > now) return hit.value;
  const value = await fromDb(d1, s, eq(schema.apiKeys.hash, hash));
  if (s.CIO_KEY_CACHE_TTL_S > 0) remember(value ? keys : misses, value ? MAX_KEYS : MAX_MISSES, hash, { value, expires: now + s.CIO_KEY_CACHE_TTL_S * 1000 });
  return value;
}

function remember(cache: Cached, max: number, hash: string, entry: { value: KeyLookup; expires: number }) {
  // Out of both: an expired key left in `keys` would hide its fresh miss, and every request would query D1.
  keys.delete(hash);
  misses.delete(hash);
  if (cache.size >= max) cache.delete(cache.keys().next().value!);
  cache.set(hash, entry);
}

/** Forget a key at once in this isolate (used by the admin API when it revokes). */
export const forgetKey = (hash: string) => (keys.delete(hash), misses.delete(hash));

/**
 * Forget every cached key of a tenant at once in this isolate (used by the admin API when it changes the
 * tenant): each entry holds the tenant's status and limits, so a suspension or a new limit otherwise waited
 * for the entry to expire, even on the isolate that made the change.
 */
export function forgetTenant(tenantId: string) {
  for (const [hash, hit] of keys) if (hit.value?.tenantId === tenantId) keys.delete(hash);
}

/** The same lookup by key id, uncached: for credentials that stand for a key (a session ticket). */
export const lookupKeyById = (d1: D1Database, keyId: string, s: GatewaySettings) => fromDb(d1, s, eq(schema.apiKeys.id, keyId));

/** The defaults of this gateway's settings, for the limits a key and its tenant leave unset. */
export const limitDefaults = (s: GatewaySettings): LimitDefaults => ({
  keyRpm: s.CIO_DEFAULT_KEY_RPM,
  keyConcurrency: s.CIO_DEFAULT_KEY_CONCURRENCY,
  tenantRpm: s.CIO_DEFAULT_TENANT_RPM,
  tenantConcurrency: s.CIO_DEFAULT_TENANT_CONCURRENCY,
});

async function fromDb(d1: D1Database, s: GatewaySettings, which: SQL): Promise<KeyLookup> {
  const k = schema.apiKeys;
  const t = schema.tenants;
  const rows = await openDb(d1)
    .select({ keyId: k.id, tenantId: k.tenantId, scopes: k.scopes, tenantStatus: t.status, ...limitColumns })
    .from(k)
    .innerJoin(t, eq(t.id, k.tenantId))
    .where(and(which, isNull(k.revokedAt)))
    .limit(1);
  const r = rows[0];
  if (!r) return null;
  const { keyId, tenantId, scopes, tenantStatus, ...stored } = r;
  return { tenantId, keyId, scopes, tenantStatus, limits: resolveLimits(stored, limitDefaults(s)) };
}
