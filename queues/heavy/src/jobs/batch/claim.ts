/**
 * Which delivery runs a batch part. Queues delivers at least once, and a redelivered planning message sends
 * the queued parts again, so two deliveries of one part can run at once: both used to claim it, send every
 * request (billing each twice), and the later one rebuilt the part's file from the rows the earlier one had
 * already deleted, losing answered lines. Now a delivery takes the part with a token of its own; another one
 * finding that claim alive is retried once it would end (PartBusy), and only the claim's holder ends the part.
 * An attempt that fails gives its claim back, so the queue's retry resumes at once; a claim never given back
 * (the invocation died) is taken over once older than CIO_BATCH_CLAIM_TTL_MS.
 */
import { and, eq, isNull, lte, or } from "drizzle-orm";
import { openDb, schema } from "../../../../../lib/db/index.js";
import type { PartRow } from "./store.js";

const p = schema.batchParts;

/** The part is held by a live claim of another delivery: look again once that claim would have expired. */
export class PartBusy extends Error {
  constructor(readonly retryAfterMs: number) {
    super(`another delivery runs this batch part; its claim ends within ${retryAfterMs} ms`);
    this.name = "PartBusy";
  }

  get delaySeconds(): number {
    // Within what Queues accepts as a delay (12 h), also when clocks disagree on when the claim was taken.
    return Math.min(43_200, Math.max(1, Math.ceil(this.retryAfterMs / 1000)));
  }

  /** The retry delay an error asks for, when it is a PartBusy (consumers back off otherwise). */
  static delayOf(err: unknown): number | undefined {
    return err instanceof PartBusy ? err.delaySeconds : undefined;
  }
}

export type PartKey = { tenantId: string; batchId: string; part: number };
/** A part held by this delivery: `claim` is its token, taken at `claimedAt`. */
export type ClaimedPart = PartRow & { claim: string; claimedAt: number };

const partIs = (k: PartKey) => and(eq(p.tenantId, k.tenantId), eq(p.batchId, k.batchId), eq(p.idx, k.part));

/**
 * Takes a queued part, or a running one whose claim was given back or expired. undefined when there is
 * nothing to run (done, or not yet queued); throws PartBusy when another delivery holds it.
 */
export async function claimPart(d1: D1Database, k: PartKey, ttlMs: number, now = Date.now()): Promise<ClaimedPart | undefined> {
  const db = openDb(d1);
  const free = or(eq(p.status, "queued"), and(eq(p.status, "running"), or(isNull(p.claim), lte(p.claimedAt, now - ttlMs))));
  const [row] = await db.update(p).set({ status: "running", claim: crypto.randomUUID(), claimedAt: now }).where(and(partIs(k), free)).returning();
  if (row) return row as ClaimedPart;
  const [held] = await db.select({ status: p.status, claimedAt: p.claimedAt }).from(p).where(partIs(k)).limit(1);
  if (held?.status === "running") throw new PartBusy((held.claimedAt ?? now) + ttlMs - now);
  return undefined;
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
