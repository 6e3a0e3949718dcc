/**
 * The task row's state changes, each one conditional on the current status so redeliveries, cancellation
 * and the dead-letter consumer can race without a finished task ever changing again. A running task is held
 * by the claim of the delivery running it (claims.ts): only that delivery moves it on, and the dead-letter
 * consumer does not fail it while the claim lives.
 */
import { and, eq, inArray, isNull, sql } from "drizzle-orm";
import { openDb, schema } from "../../../lib/db/index.js";
import type { TaskRow } from "../../../lib/heavy/tasks.js";
import { newClaim, unlessHeld } from "./claims.js";

const t = schema.tasks;
const owned = (tenantId: string, id: string) => and(eq(t.tenantId, tenantId), eq(t.id, id));
/** The row is still held as `row` holds it: by its claim, or by none (a batch's task between its planning and its end). */
const heldAs = (row: Pick<TaskRow, "tenantId" | "id" | "claim">) => and(owned(row.tenantId, row.id), row.claim === null ? isNull(t.claim) : eq(t.claim, row.claim));

/** A task held by this delivery: `claim` is its token, taken at `claimedAt`. */
export type ClaimedTask = TaskRow & { claim: string; claimedAt: number };

/**
 * queued|running → running under a new claim, one more attempt: a running task only when its claim was given
 * back or is older than `ttlMs`. undefined when the task finished or was cancelled; throws ClaimBusy while
 * another delivery holds it.
 */
export async function claim(d1: D1Database, tenantId: string, id: string, ttlMs: number, now = Date.now()): Promise<ClaimedTask | undefined> {
  const db = openDb(d1);
  const row = await unlessHeld("task", t, ttlMs, now, {
    write: async (free) =>
      (
        await db
          .update(t)
          .set({ status: "running", ...newClaim(now), attempts: sql`${t.attempts} + 1`, startedAt: sql`coalesce(${t.startedAt}, ${now})`, updatedAt: now })
          .where(and(owned(tenantId, id), free))
          .returning()
      )[0],
    read: () => readTask(d1, tenantId, id),
  });
  return row as ClaimedTask | undefined;
}

/** Gives the claim back, the task still running (the attempt failed, or handed its end to later messages). */
export async function release(d1: D1Database, row: ClaimedTask) {
  await openDb(d1)
    .update(t)
    .set({ claim: null, claimedAt: null })
    .where(and(heldAs(row), eq(t.status, "running")));
}

export async function setProgress(d1: D1Database, row: TaskRow, progress: number, now = Date.now()): Promise<TaskRow | undefined> {
  const [updated] = await openDb(d1)
    .update(t)
    .set({ progress, updatedAt: now })
    .where(and(heldAs(row), eq(t.status, "running")))
    .returning();
  return updated;
}

export async function succeed(d1: D1Database, row: TaskRow, summary: string, resultRef: string | null, now = Date.now()): Promise<TaskRow | undefined> {
  const [updated] = await openDb(d1)
    .update(t)
    .set({ status: "succeeded", progress: 1, summary, resultRef, error: null, finishedAt: now, updatedAt: now })
    .where(and(heldAs(row), eq(t.status, "running")))
    .returning();
  return updated;
}

/**
 * running → cancelled or failed, keeping the summary and the partial result: a batch that was cancelled,
 * or expired with requests left unrun, still has output (and an error file) to read.
 */
export async function endPartly(
  d1: D1Database,
  row: TaskRow,
  end: { status: "cancelled" | "failed"; summary: string; resultRef: string | null; error: { code: string; message: string } | null },
  now = Date.now(),
): Promise<TaskRow | undefined> {
  const [updated] = await openDb(d1)
    .update(t)
    .set({ ...end, finishedAt: now, updatedAt: now })
    .where(and(heldAs(row), eq(t.status, "running")))
    .returning();
  return updated;
}

/**
 * running → queued, giving back the claim and the attempt it counted: the task goes back to the queue to wait
 * for the tenant's rate limit, which is no failed attempt. Nothing when it was cancelled meanwhile.
 */
export async function unclaim(d1: D1Database, row: ClaimedTask, now = Date.now()): Promise<TaskRow | undefined> {
  const [updated] = await openDb(d1)
    .update(t)
    .set({ status: "queued", claim: null, claimedAt: null, attempts: sql`max(0, ${t.attempts} - 1)`, updatedAt: now })
    .where(and(heldAs(row), eq(t.status, "running")))
    .returning();
  return updated;
}

/** Any unfinished task `row`'s holder holds → failed with the error. */
export async function fail(d1: D1Database, row: Pick<TaskRow, "tenantId" | "id" | "claim">, error: { code: string; message: string }, now = Date.now()): Promise<TaskRow | undefined> {
  const [updated] = await openDb(d1)
    .update(t)
    .set({ status: "failed", error, finishedAt: now, updatedAt: now })
    .where(and(heldAs(row), inArray(t.status, ["queued", "running"])))
    .returning();
  return updated;
}

/**
 * The dead-letter path: an unfinished task no live claim holds → failed with the error. undefined when it had
 * finished; throws ClaimBusy while a delivery (a duplicate of the dead message) still runs it, whose answer,
 * billed, would otherwise be dropped.
 */
export async function failUnheld(d1: D1Database, tenantId: string, id: string, error: { code: string; message: string }, ttlMs: number, now = Date.now()): Promise<TaskRow | undefined> {
  return unlessHeld("task", t, ttlMs, now, {
    write: async (free) =>
      (await openDb(d1).update(t).set({ status: "failed", error, finishedAt: now, updatedAt: now }).where(and(owned(tenantId, id), free)).returning())[0],
    read: () => readTask(d1, tenantId, id),
  });
}

/** A failed attempt that will be retried: keep its error on the row, so the DLQ can report the last one. */
export async function noteAttemptError(d1: D1Database, tenantId: string, id: string, error: { code: string; message: string }, now = Date.now()) {
  await openDb(d1)
    .update(t)
    .set({ error, updatedAt: now })
    .where(and(owned(tenantId, id), inArray(t.status, ["queued", "running"])));
}

export async function readTask(d1: D1Database, tenantId: string, id: string): Promise<TaskRow | undefined> {
  const [row] = await openDb(d1).select().from(t).where(owned(tenantId, id)).limit(1);
  return row;
}
