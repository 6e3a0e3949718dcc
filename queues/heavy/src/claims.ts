/**
 * Which delivery of a queue message runs a task (task-store.ts) or a batch part (jobs/batch/claim.ts). Queues
 * delivers at least once, so two deliveries of one message can run at once. A delivery takes the row with a
 * token of its own (its claim, and when it took it); another one finding that claim alive is retried once it
 * would end (ClaimBusy), and only the claim's holder ends the row. An attempt that fails gives its claim back,
 * so the queue's retry goes on at once; a claim never given back (the invocation died) is taken over once
 * older than CIO_BATCH_CLAIM_TTL_MS, longer than any invocation may run.
 */
import { and, eq, isNull, lte, or, type SQL } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import type { Logger } from "../../../lib/log.js";

/** The row is held by a live claim of another delivery: look again once that claim would have expired. */
export class ClaimBusy extends Error {
  constructor(
    /** What is held, for the logs: "task", "batch part". */
    readonly what: string,
    readonly retryAfterMs: number,
  ) {
    super(`another delivery runs this ${what}; its claim ends within ${retryAfterMs} ms`);
    this.name = "ClaimBusy";
  }

  get delaySeconds(): number {
    // Within what Queues accepts as a delay (12 h), also when clocks disagree on when the claim was taken.
    return Math.min(43_200, Math.max(1, Math.ceil(this.retryAfterMs / 1000)));
  }
}

/** The columns a claimed row has. */
interface ClaimColumns {
  status: SQLiteColumn;
  claim: SQLiteColumn;
  claimedAt: SQLiteColumn;
}

type Held = { status: string; claimedAt: number | null };

/** A new claim, taken now. */
export const newClaim = (now: number) => ({ claim: crypto.randomUUID(), claimedAt: now });

/** Free to take: queued, or running with its claim given back or expired. */
const unheld = (c: ClaimColumns, ttlMs: number, now: number): SQL =>
  or(eq(c.status, "queued"), and(eq(c.status, "running"), or(isNull(c.claim), lte(c.claimedAt, now - ttlMs))))!;

/**
 * Writes the row (`write`, under the `unheld` condition it is given) unless a live claim holds it. undefined
 * when there is nothing to write (the row finished, or is gone); throws ClaimBusy when another delivery holds it.
 */
export async function unlessHeld<R>(
  what: string,
  c: ClaimColumns,
  ttlMs: number,
  now: number,
  q: { write(free: SQL): Promise<R | undefined>; read(): Promise<Held | undefined> },
): Promise<R | undefined> {
  const row = await q.write(unheld(c, ttlMs, now));
  if (row) return row;
  const held = await q.read();
  if (held?.status === "running") throw new ClaimBusy(what, (held.claimedAt ?? now) + ttlMs - now);
  return undefined;
}

/**
 * Runs `work` under a claim. An attempt that throws has nothing left in flight, so it gives the claim back:
 * the queue's retry (or the message requeued for the rate limit) resumes at once instead of waiting for the
 * claim to expire.
 */
export async function holding<T>(what: string, giveBack: () => Promise<unknown>, log: Logger, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    await giveBack().catch((e: unknown) => log.error(`could not give the ${what}'s claim back`, { err: e }));
    throw err;
  }
}
