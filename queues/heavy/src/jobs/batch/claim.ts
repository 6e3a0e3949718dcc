/**
 * Which delivery runs a batch part. Queues delivers at least once, and a redelivered planning message sends
 * the queued parts again, so two deliveries of one part can run at once: both used to claim it, send every
 * request (billing each twice), and the later one rebuilt the part's file from the rows the earlier one had
 * already deleted, losing answered lines. Now a delivery takes the part with a claim of its own (../../claims.ts,
 * as tasks are taken), and only the claim's holder ends the part.
 */
import { and, eq } from "drizzle-orm";
import { openDb, schema } from "../../../../../lib/db/index.js";
import { newClaim, unlessHeld } from "../../claims.js";
import type { PartRow } from "./store.js";

const p = schema.batchParts;

export type PartKey = { tenantId: string; batchId: string; part: number };
/** A part held by this delivery: `claim` is its token, taken at `claimedAt`. */
export type ClaimedPart = PartRow & { claim: string; claimedAt: number };

const partIs = (k: PartKey) => and(eq(p.tenantId, k.tenantId), eq(p.batchId, k.batchId), eq(p.idx, k.part));

/**
 * Takes a queued part, or a running one whose claim was given back or expired. undefined when there is
 * nothing to run (done, or not yet queued); throws ClaimBusy when another delivery holds it.
 */
export async function claimPart(d1: D1Database, k: PartKey, ttlMs: number, now = Date.now()): Promise<ClaimedPart | undefined> {
  const db = openDb(d1);
  const row = await unlessHeld("batch part", p, ttlMs, now, {
    write: async (free) => (await db.update(p).set({ status: "running", ...newClaim(now) }).where(and(partIs(k), free)).returning())[0],
    read: async () => (await db.select({ status: p.status, claimedAt: p.claimedAt }).from(p).where(partIs(k)).limit(1))[0],
  });
  return row as ClaimedPart | undefined;
}

/** Gives the claim back (the attempt ended without ending the part), so the queue's retry need not wait for it to expire. */
export async function releasePart(d1: D1Database, part: ClaimedPart) {
  await openDb(d1)
    .update(p)
    .set({ claim: null, claimedAt: null })
    .where(and(partIs({ ...part, part: part.idx }), eq(p.status, "running"), eq(p.claim, part.claim)));
}

/** Ends the part, only for the claim that holds it: false when another delivery took it over meanwhile. */
export async function finishPart(d1: D1Database, part: ClaimedPart, counts: { completed: number; failed: number; outputBytes: number; errorBytes: number }) {
  const rows = await openDb(d1)
    .update(p)
    .set({ status: "done", ...counts })
    .where(and(partIs({ ...part, part: part.idx }), eq(p.status, "running"), eq(p.claim, part.claim)))
    .returning({ idx: p.idx });
  return rows.length > 0;
}
