/**
 * Task rows: created before their message is sent (so nothing sent is unknown), read and cancelled per
 * tenant. Every query filters by tenant: another tenant's task id reads as "not found".
 */
import { and, eq, inArray } from "drizzle-orm";
import { ApiError, notFound } from "../errors.js";
import { openDb, schema } from "../db/index.js";
import { TERMINAL, type TaskObject, type TaskType } from "../protocol/heavy.js";
import type { HeavyBindings } from "./bindings.js";
import { newTaskId, toUnixSeconds } from "./ids.js";

export type TaskRow = typeof schema.tasks.$inferSelect;

export interface NewTask {
  tenantId: string;
  requestId: string;
  type: TaskType;
  params: Record<string, unknown>;
  sessionId?: string | null;
  inputRef?: string | null;
  /** The API key that queued it, when one did. */
  keyId?: string | null;
  id?: string;
}

/**
 * Insert the row, then send its message. If the queue refuses, the row is marked failed (never left
 * queued with no message) and the caller gets a 503 to retry.
 */
export async function enqueueTask(env: Pick<HeavyBindings, "DB" | "HEAVY_QUEUE">, t: NewTask): Promise<TaskRow> {
  const db = openDb(env.DB);
  const [row] = await db
    .insert(schema.tasks)
    .values({ id: t.id ?? newTaskId(), tenantId: t.tenantId, type: t.type, params: t.params, sessionId: t.sessionId ?? null, inputRef: t.inputRef ?? null, requestId: t.requestId, keyId: t.keyId ?? null })
    .returning();
  try {
    await env.HEAVY_QUEUE.send({ kind: "task", taskId: row!.id, tenantId: t.tenantId, requestId: t.requestId });
  } catch (err) {
    const error = { code: "enqueue_failed", message: `the queue refused the task: ${String(err)}` };
    await db.update(schema.tasks).set({ status: "failed", error, finishedAt: Date.now(), updatedAt: Date.now() }).where(and(eq(schema.tasks.tenantId, t.tenantId), eq(schema.tasks.id, row!.id)));
    throw new ApiError(503, "server_error", "The task queue is unavailable; try again.", "queue_unavailable");
  }
  return row!;
}

export async function findTask(d1: D1Database, tenantId: string, id: string): Promise<TaskRow | undefined> {
  const rows = await openDb(d1).select().from(schema.tasks).where(and(eq(schema.tasks.tenantId, tenantId), eq(schema.tasks.id, id))).limit(1);
  return rows[0];
}

export async function getTask(d1: D1Database, tenantId: string, id: string): Promise<TaskRow> {
  const row = await findTask(d1, tenantId, id);
  if (!row) throw notFound(`No task with id '${id}'.`, "task_not_found");
  return row;
}

/**
 * Cancel a task that has not finished. A running job sees the status at its next progress check and
 * stops; a queued one is skipped when its message arrives. Finished tasks stay as they are (409).
 */
export async function cancelTask(d1: D1Database, tenantId: string, id: string, now = Date.now()): Promise<TaskRow> {
  const t = schema.tasks;
  const [row] = await openDb(d1)
    .update(t)
    .set({ status: "cancelled", finishedAt: now, updatedAt: now })
    .where(and(eq(t.tenantId, tenantId), eq(t.id, id), inArray(t.status, ["queued", "running"])))
    .returning();
  if (row) return row;
  const existing = await getTask(d1, tenantId, id);
  throw new ApiError(409, "invalid_request_error", `Task '${id}' has already ${existing.status}; it cannot be cancelled.`, "task_finished");
}

/** Estimated seconds left, from the rate of progress so far; null until there is progress to go by. */
export function etaSeconds(row: Pick<TaskRow, "status" | "progress" | "startedAt">, now = Date.now()): number | null {
  if (TERMINAL.includes(row.status)) return 0;
  if (!row.startedAt || row.progress <= 0) return null;
  const elapsed = (now - row.startedAt) / 1000;
  return Math.max(0, Math.round((elapsed * (1 - row.progress)) / row.progress));
}

export function toTaskObject(row: TaskRow, now = Date.now()): TaskObject {
  return {
    id: row.id,
    object: "task",
    type: row.type,
    status: row.status,
    progress: row.progress,
    eta_s: etaSeconds(row, now),
    attempts: row.attempts,
    summary: row.summary,
    result_url: row.resultRef ? `/v1/tasks/${row.id}/result` : null,
    error: row.error ?? null,
    session_id: row.sessionId,
    created_at: toUnixSeconds(row.createdAt)!,
    started_at: toUnixSeconds(row.startedAt),
    finished_at: toUnixSeconds(row.finishedAt),
  };
}
