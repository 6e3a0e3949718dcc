/**
 * A batch request is recorded as started (batch_starts) before it is sent to the model, and its result
 * (results.ts) once answered. A claim that finds a request started under another claim and not answered does
 * not send it again until that claim has expired (CIO_BATCH_CLAIM_TTL_MS after it was taken), when whatever
 * sent it has certainly ended. A call that fails drops its start (nothing is running it), so a retry sends it
 * again at once, as before; an answer whose result could not be recorded keeps it.
 */
import { and, eq, lte } from "drizzle-orm";
import { openDb, schema } from "../../../../../lib/db/index.js";
import type { ClaimedPart } from "./claim.js";

const st = schema.batchStarts;

export type Start = { ok: true } | { ok: false; retryAfterMs: number };

/** Records that this claim sends the request now; refused (with when to look again) while the claim that started it lives. */
export async function takeStart(d1: D1Database, part: ClaimedPart, line: number, ttlMs: number, now = Date.now()): Promise<Start> {
  const db = openDb(d1);
  const mine = { claim: part.claim, claimedAt: part.claimedAt };
  const [taken] = await db
    .insert(st)
    .values({ batchId: part.batchId, part: part.idx, line, tenantId: part.tenantId, ...mine })
    .onConflictDoUpdate({ target: [st.batchId, st.part, st.line], set: mine, setWhere: lte(st.claimedAt, now - ttlMs) })
    .returning({ line: st.line });
  if (taken) return { ok: true };
  const [held] = await db.select({ claimedAt: st.claimedAt }).from(st).where(startOf(part, line)).limit(1);
  return { ok: false, retryAfterMs: Math.max(1, (held?.claimedAt ?? now) + ttlMs - now) };
}

/** The call ended without an answer: nothing is running the request any more. */
export async function dropStart(d1: D1Database, part: ClaimedPart, line: number) {
  await openDb(d1).delete(st).where(and(startOf(part, line), eq(st.claim, part.claim)));
}

export async function deleteStarts(d1: D1Database, tenantId: string, batchId: string, part?: number) {
  await openDb(d1)
    .delete(st)
    .where(and(eq(st.tenantId, tenantId), eq(st.batchId, batchId), part === undefined ? undefined : eq(st.part, part)));
}

const startOf = (part: ClaimedPart, line: number) => and(eq(st.tenantId, part.tenantId), eq(st.batchId, part.batchId), eq(st.part, part.idx), eq(st.line, line));
