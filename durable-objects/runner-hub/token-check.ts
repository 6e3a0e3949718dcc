/**
 * Which of a hub's connected runner tokens no longer hold, read from D1 with the gateway's conditions at
 * connect (token not revoked, tenant active). Revoking a token through the admin API disconnects its runners
 * at once; this check, run on every heartbeat sweep, is what holds when that call did not reach the hub (the
 * revoke is committed first) or the token was revoked or the tenant suspended some other way.
 */
import { and, eq, inArray } from "drizzle-orm";
import { openDb, schema } from "../../lib/db/index.js";
import { TENANT_SUSPENDED_CLOSE, TOKEN_REVOKED_CLOSE } from "../../lib/protocol/runner.js";

export type TokenRefusal = "the runner token was revoked" | "the tenant is suspended";

/** The close code that tells the runner which refusal it was (not 1008, which says its name or version is wrong). */
export const REFUSAL_CLOSE: Record<TokenRefusal, number> = {
  "the runner token was revoked": TOKEN_REVOKED_CLOSE,
  "the tenant is suspended": TENANT_SUSPENDED_CLOSE,
};

/** Ids per query: D1 binds at most 100 parameters per statement. */
const CHUNK = 90;

export async function refusedTokens(db: D1Database, tenantId: string, tokenIds: string[]): Promise<Map<string, TokenRefusal>> {
  const t = schema.runnerTokens;
  const found = new Map<string, { revokedAt: number | null; status: string }>();
  for (let i = 0; i < tokenIds.length; i += CHUNK) {
    const rows = await openDb(db)
      .select({ id: t.id, revokedAt: t.revokedAt, status: schema.tenants.status })
      .from(t)
      .innerJoin(schema.tenants, eq(schema.tenants.id, t.tenantId))
      .where(and(eq(t.tenantId, tenantId), inArray(t.id, tokenIds.slice(i, i + CHUNK))));
    for (const r of rows) found.set(r.id, r);
  }
  const refused = new Map<string, TokenRefusal>();
  for (const id of tokenIds) {
    const r = found.get(id);
    // A token that is gone (or never was this tenant's) is as good as revoked.
    if (!r || r.revokedAt !== null) refused.set(id, "the runner token was revoked");
    else if (r.status !== "active") refused.set(id, "the tenant is suspended");
  }
  return refused;
}
