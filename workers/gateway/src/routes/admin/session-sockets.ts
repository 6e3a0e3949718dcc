/**
 * Cuts off a tenant's open session sockets when the admin API revokes a key or suspends the tenant, as
 * revoking a runner token disconnects its runners. D1's sessions index lists the tenant's sessions (it does
 * not know which have sockets, so each is asked); the asking runs after the answer, a batch at a time, and a
 * session that cannot be reached is logged, never a failed admin call: its own key re-check (every
 * CIO_SESSION_KEY_CHECK_S, durable-objects/session/key-guard.ts) still closes those sockets.
 */
import type { Context } from "hono";
import { eq } from "drizzle-orm";
import { openDb, schema } from "../../../../../lib/db/index.js";
import { stubFor } from "../../../../../lib/do-names.js";
import type { Logger } from "../../../../../lib/log.js";
import { sessionObjectName } from "../../../../../lib/protocol/index.js";
import type { GatewayApp, GatewayEnv } from "../../env.js";

/** Sessions asked at once: enough to be quick, few enough not to flood the objects or D1. */
const BATCH = 25;

type Which = { reason: "api_key_revoked"; keyId: string } | { reason: "tenant_suspended" };

export function closeSessionSockets(c: Context<GatewayApp>, tenantId: string, which: Which) {
  const log = c.get("log").child({ tenantId });
  c.executionCtx.waitUntil(fanOut(c.env, tenantId, which, log).catch((err: unknown) => log.error("session sockets not closed", { err, ...which })));
}

async function fanOut(env: GatewayEnv, tenantId: string, which: Which, log: Logger) {
  const t = schema.sessions;
  const rows = await openDb(env.DB).select({ id: t.id }).from(t).where(eq(t.tenantId, tenantId));
  let closed = 0;
  for (let i = 0; i < rows.length; i += BATCH) {
    const batch = rows.slice(i, i + BATCH);
    const results = await Promise.allSettled(
      batch.map(({ id }) => stubFor(env.SESSIONS, sessionObjectName(tenantId, id)).closeSockets({ tenantId, sessionId: id, ...which })),
    );
    results.forEach((r, j) => {
      if (r.status === "fulfilled") closed += r.value;
      else log.warn("session sockets not closed; the session's own key check will", { err: r.reason, sessionId: batch[j]!.id, ...which });
    });
  }
  if (closed) log.info("session sockets closed", { closed, sessions: rows.length, ...which });
}
