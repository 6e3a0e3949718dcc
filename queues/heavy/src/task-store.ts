/**
 * The task row's state changes, each one conditional on the current status so redeliveries, cancellation
 * and the dead-letter consumer can race without a finished task ever changing again.
 */
import { and, eq, inArray, sql } from "drizzle-orm";
import { openDb, schema } from "../../../lib/db/index.js";
import type { TaskRow } from "../../../lib/heavy/tasks.js";

const t = schema.tasks;
const owned = (tenantId: string, id: string) => and(eq(t.tenantId, tenantId), eq(t.id, id));

/** queued|running → running, one more attempt. Nothing when the task finished or was cancelled. */
export async function claim(d1: D1Database, tenantId: string, id: string, now = Date.now()): Promise<TaskRow | undefined> {
  const [row] = await openDb(d1)
    .update(t)
    .set({ status: "running", attempts: sql`${t.attempts} + 1`, startedAt: sql`coalesce(${t.startedAt}, ${now})`, updatedAt: now })
    .where(and(owned(tenantId, id), inArray(t.status, ["queued", "running"])))
    .returning();
  return row;
}

export async function setProgress(d1: D1Database, row: TaskRow, progress: number, now = Date.now()): Promise<TaskRow | undefined> {
  const [updated] = await openDb(d1)
    .update(t)
    .set({ progress, updatedAt: now })
    .where(and(owned(row.tenantId, row.id), eq(t.status, "running")))
    .returning();
  return updated;
}

export async function succeed(d1: D1Database, row: TaskRow, summary: string, resultRef: string | null, now = Date.now()): Promise<TaskRow | undefined> {
  const [updated] = await openDb(d1)
    .update(t)
    .set({ status: "succeeded", progress: 1, summary, resultRef, error: null, finishedAt: now, updatedAt: now })
    .where(and(owned(row.tenantId, row.id), eq(t.status, "running")))
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
    .where(and(owned(row.tenantId, row.id), eq(t.status, "running")))
    .returning();
  return updated;
}

/**
 * running → queued, giving back the attempt its claim counted: the task goes back to the queue to wait for
 * the tenant's rate limit, which is no failed attempt. Nothing when it was cancelled meanwhile.
 */
export async function unclaim(d1: D1Database, row: TaskRow, now = Date.now()): Promise<TaskRow | undefined> {
  const [updated] = await openDb(d1)
    .update(t)
    .set({ status: "queued", attempts: sql`max(0, ${t.attempts} - 1)`, updatedAt: now })
    .where(and(owned(row.tenantId, row.id), eq(t.status, "running")))
    .returning();
  return updated;
}

/** Any unfinished task → failed with the error. */
export async function fail(d1: D1Database, tenantId: string, id: string, error: { code: string; message: string }, now = Date.now()): Promise<TaskRow | undefined> {
  const [updated] = await openDb(d1)
    .update(t)
    .set({ status: "failed", error, finishedAt: now, updatedAt: now })
    .where(and(owned(tenantId, id), inArray(t.status, ["queued", "running"])))
    .returning();
  return updated;
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
