/**
 * A batch request is recorded as started (batch_starts) before it is sent to the model, and its result
 * (results.ts) once answered. A claim that finds a request started under another claim and not answered does
 * not send it again until that claim has expired (CIO_BATCH_CLAIM_TTL_MS after it was taken), when whatever
 * sent it has certainly ended. A call that fails, or that the model answers with a transient error (429, 5xx),
 * drops its start (nothing is running it), so a retry sends it again at once; an answer whose result could not
 * be recorded keeps it. A dropped start keeps the model's last transient error, which the dead-letter path
 * writes as the request's line once the part's retries have run out.
 */
import { and, eq, isNotNull, lte } from "drizzle-orm";
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

/**
 * The call ended without an answer to keep: nothing is running the request any more. The start is expired
 * rather than deleted, so `lastError` (the model's transient error, when it answered one) outlives it.
 */
export async function dropStart(d1: D1Database, part: ClaimedPart, line: number, lastError?: string) {
  await openDb(d1)
    .update(st)
    .set({ claimedAt: 0, ...(lastError === undefined ? {} : { lastError }) })
    .where(and(startOf(part, line), eq(st.claim, part.claim)));
}

/** The model's last transient error of each request of the part that has one (by its place in the part). */
export async function lastErrors(d1: D1Database, part: ClaimedPart): Promise<Map<number, string>> {
  const rows = await openDb(d1)
    .select({ line: st.line, lastError: st.lastError })
    .from(st)
    .where(and(eq(st.tenantId, part.tenantId), eq(st.batchId, part.batchId), eq(st.part, part.idx), isNotNull(st.lastError)));
  return new Map(rows.map((r) => [r.line, r.lastError!]));
}

export async function deleteStarts(d1: D1Database, tenantId: string, batchId: string, part?: number) {
  await openDb(d1)
    .delete(st)
    .where(and(eq(st.tenantId, tenantId), eq(st.batchId, batchId), part === undefined ? undefined : eq(st.part, part)));
}

const startOf = (part: ClaimedPart, line: number) => and(eq(st.tenantId, part.tenantId), eq(st.batchId, part.batchId), eq(st.part, part.idx), eq(st.line, line));
