/**
 * Batch creation and cancellation as the API sees them; the work runs in queues/heavy. Creating writes the
 * batch row, then its task (whose message starts validation); cancelling stops parts not yet started and
 * re-sends the task's message so the consumer finalizes what did run.
 */
import { and, eq, inArray } from "drizzle-orm";
import { ApiError, badRequest, notFound } from "../errors.js";
import { openDb, schema } from "../db/index.js";
import type { BatchObject } from "../protocol/heavy.js";
import type { HeavyBindings } from "./bindings.js";
import { newBatchId, newTaskId, toUnixSeconds } from "./ids.js";
import { findFile } from "./files.js";
import { enqueueTask } from "./tasks.js";

export type BatchRow = typeof schema.batches.$inferSelect;
const b = schema.batches;

export interface NewBatch {
  tenantId: string;
  keyId: string;
  requestId: string;
  limits: Record<string, number | null>;
  inputFileId: string;
  endpoint: string;
  completionWindow: string;
  metadata?: Record<string, string> | null;
  /** `output_expires_after.seconds`: how long the output and error files live once written. */
  outputExpiresAfterS?: number | null;
}

export async function createBatch(env: Pick<HeavyBindings, "DB" | "HEAVY_QUEUE">, n: NewBatch, now = Date.now()): Promise<BatchRow> {
  // Only a missing file is the caller's mistake; a lookup that failed is ours and surfaces as such.
  const file = await findFile(env.DB, n.tenantId, n.inputFileId);
  if (!file) throw badRequest(`No such File object: ${n.inputFileId}`, "input_file_id", "file_not_found");
  if (file.purpose !== "batch") throw badRequest(`File ${file.id} has purpose '${file.purpose}'; a batch needs a file uploaded with purpose 'batch'.`, "input_file_id");
  const id = newBatchId();
  const taskId = newTaskId();
  const db = openDb(env.DB);
  await db.insert(b).values({
    id,
    tenantId: n.tenantId,
    taskId,
    keyId: n.keyId,
    limits: n.limits,
    inputFileId: n.inputFileId,
    endpoint: n.endpoint,
    completionWindow: n.completionWindow,
    metadata: n.metadata ?? null,
    outputExpiresAfterS: n.outputExpiresAfterS ?? null,
    createdAt: now,
    expiresAt: now + 24 * 3600_000,
  });
  try {
    await enqueueTask(env, { id: taskId, tenantId: n.tenantId, requestId: n.requestId, type: "batch", params: { batchId: id } });
  } catch (err) {
    await db.update(b).set({ status: "failed", failedAt: Date.now(), errors: [{ code: "enqueue_failed", message: "The batch could not be queued.", line: null, param: null }] }).where(and(eq(b.tenantId, n.tenantId), eq(b.id, id)));
    throw err;
  }
  return getBatch(env.DB, n.tenantId, id);
}

export async function getBatch(d1: D1Database, tenantId: string, id: string): Promise<BatchRow> {
  const [row] = await openDb(d1).select().from(b).where(and(eq(b.tenantId, tenantId), eq(b.id, id))).limit(1);
  if (!row) throw notFound(`No batch found with id '${id}'.`, "batch_not_found");
  return row;
}

const RUNNING = new Set<BatchRow["status"]>(["in_progress", "finalizing", "cancelling"]);

/** The batch with its counts as of now (see `withLiveCounts`). */
export async function getBatchNow(d1: D1Database, tenantId: string, id: string): Promise<BatchRow> {
  const [row] = await withLiveCounts(d1, tenantId, [await getBatch(d1, tenantId, id)]);
  return row!;
}

/**
 * Batches with their counts as of now: a row counts finished parts only (50 requests each), so a small batch
 * showed 0 completed until it ended. Requests already answered in parts still running are added, as OpenAI's
 * counts move request by request; GET one batch and the list show the same (the list showed the row's).
 */
export async function withLiveCounts(d1: D1Database, tenantId: string, rows: BatchRow[]): Promise<BatchRow[]> {
  const running = rows.filter((r) => RUNNING.has(r.status)).map((r) => r.id);
  if (!running.length) return rows;
  // Both halves from the parts in one read: the batch row's counters catch up with a part marked done a moment
  // later, and a count from one and the other dropped back in between.
  const { results } = await d1
    .prepare(
      `SELECT batch_id AS id, sum(ok) AS ok, sum(failed) AS failed FROM (
         SELECT batch_id, completed AS ok, failed FROM batch_parts
         WHERE tenant_id = ?1 AND batch_id IN (SELECT value FROM json_each(?2)) AND status = 'done'
         UNION ALL
         SELECT r.batch_id, r.kind = 'output', r.kind <> 'output'
         FROM batch_results r JOIN batch_parts p ON p.tenant_id = r.tenant_id AND p.batch_id = r.batch_id AND p.idx = r.part
         WHERE r.tenant_id = ?1 AND r.batch_id IN (SELECT value FROM json_each(?2)) AND p.status <> 'done'
       ) GROUP BY batch_id`,
    )
    .bind(tenantId, JSON.stringify(running))
    .all<{ id: string; ok: number; failed: number }>();
  const live = new Map(results.map((r) => [r.id, r]));
  // A running batch with no part done and no request answered yet has no row here: nothing finished.
  return rows.map((r) => (RUNNING.has(r.status) ? { ...r, completed: live.get(r.id)?.ok ?? 0, failed: live.get(r.id)?.failed ?? 0 } : r));
}

export async function cancelBatch(env: Pick<HeavyBindings, "DB" | "HEAVY_QUEUE">, tenantId: string, id: string, requestId: string, now = Date.now()): Promise<BatchRow> {
  const db = openDb(env.DB);
  const [row] = await db
    .update(b)
    .set({ status: "cancelling", cancellingAt: now })
    .where(and(eq(b.tenantId, tenantId), eq(b.id, id), inArray(b.status, ["validating", "in_progress"])))
    .returning();
  if (!row) {
    const existing = await getBatch(env.DB, tenantId, id);
    if (existing.status === "cancelling" || existing.status === "cancelled") return existing;
    throw new ApiError(409, "invalid_request_error", `Batch ${id} is ${existing.status} and can no longer be cancelled.`, "batch_not_cancellable");
  }
  const p = schema.batchParts;
  await db.update(p).set({ status: "done" }).where(and(eq(p.tenantId, tenantId), eq(p.batchId, id), eq(p.status, "pending")));
  await env.HEAVY_QUEUE.send({ kind: "task", taskId: row.taskId, tenantId, requestId });
  return row;
}

export const toBatchObject = (r: BatchRow): BatchObject => ({
  id: r.id,
  object: "batch",
  endpoint: r.endpoint,
  errors: r.errors?.length ? { object: "list", data: r.errors } : null,
  input_file_id: r.inputFileId,
  completion_window: r.completionWindow,
  status: r.status,
  output_file_id: r.outputFileId,
  error_file_id: r.errorFileId,
  created_at: toUnixSeconds(r.createdAt)!,
  in_progress_at: toUnixSeconds(r.inProgressAt),
  expires_at: toUnixSeconds(r.expiresAt),
  finalizing_at: toUnixSeconds(r.finalizingAt),
  completed_at: toUnixSeconds(r.completedAt),
  failed_at: toUnixSeconds(r.failedAt),
  // Kept from the first request left unrun past the window, which marks the batch to end as expired; shown,
  // as OpenAI's, only once it has (a batch still running showed an expired_at).
  expired_at: r.status === "expired" ? toUnixSeconds(r.expiredAt) : null,
  cancelling_at: toUnixSeconds(r.cancellingAt),
  cancelled_at: toUnixSeconds(r.cancelledAt),
  request_counts: { total: r.total, completed: r.completed, failed: r.failed },
  metadata: r.metadata ?? null,
});
