/** Whether a socket's API key still holds, read from D1: the conditions the gateway checks on every request. */
import { and, eq } from "drizzle-orm";
import { openDb, schema } from "../../lib/db/index.js";

export type KeyStatus = "ok" | "api_key_revoked" | "tenant_suspended";

export async function keyStatus(db: D1Database, tenantId: string, keyId: string): Promise<KeyStatus> {
  const k = schema.apiKeys;
  const t = schema.tenants;
  const [r] = await openDb(db)
    .select({ revokedAt: k.revokedAt, status: t.status })
    .from(k)
    .innerJoin(t, eq(t.id, k.tenantId))
    .where(and(eq(k.id, keyId), eq(k.tenantId, tenantId)))
    .limit(1);
  // A key that is gone (or never was this tenant's) is as good as revoked.
  if (!r || r.revokedAt !== null) return "api_key_revoked";
  return r.status === "active" ? "ok" : "tenant_suspended";
}
