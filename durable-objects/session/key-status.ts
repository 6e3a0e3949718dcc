/**
 * Whether a socket's API key still holds, and its current limits, read from D1: the conditions the gateway
 * checks on every request and the limits it admits it with (an admin may have changed them since the socket
 * opened).
 */
import { and, eq } from "drizzle-orm";
import { openDb, schema } from "../../lib/db/index.js";
import { limitColumns, type StoredLimits } from "../../lib/db/key-limits.js";

export type KeyStatus = { status: "ok"; limits: StoredLimits } | { status: "api_key_revoked" | "tenant_suspended" };

export async function keyStatus(db: D1Database, tenantId: string, keyId: string): Promise<KeyStatus> {
  const k = schema.apiKeys;
  const t = schema.tenants;
  const [r] = await openDb(db)
    .select({ revokedAt: k.revokedAt, status: t.status, ...limitColumns })
    .from(k)
    .innerJoin(t, eq(t.id, k.tenantId))
    .where(and(eq(k.id, keyId), eq(k.tenantId, tenantId)))
    .limit(1);
  // A key that is gone (or never was this tenant's) is as good as revoked.
  if (!r || r.revokedAt !== null) return { status: "api_key_revoked" };
  if (r.status !== "active") return { status: "tenant_suspended" };
  const { revokedAt: _, status: __, ...limits } = r;
  return { status: "ok", limits };
}
