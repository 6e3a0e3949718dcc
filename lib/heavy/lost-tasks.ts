/**
 * Tasks no message will ever move again, found by the orchestrator's hourly cron once untouched for longer
 * than a message can live (CIO_TASK_LOST_AFTER_S; every step of a live task touches its row):
 * - `queued`: the queue send and the mark-failed after it both failed (tasks.ts enqueueTask), or the message
 *   outlived the queue's retention in a backlog. Failed visibly (`task_lost`), its session told, and a batch
 *   still validating under it fails with it.
 * - `running`: the dead-letter consumer's own retries ran out (a long D1 outage) and dropped the message that
 *   would have ended it. A batch's task is resumed instead: its planning message is sent again, which queues
 *   the parts left without a live delivery or finalizes the batch (past its window, requests end expired, so
 *   the batch ends with what it answered); any other task is failed as `task_lost` with its last error.
 * A running task's claim (queues/heavy/src/claims.ts) is no obstacle: it was taken with an update of the row and
 * lives at most CIO_BATCH_CLAIM_TTL_MS (12 h at most, the least CIO_TASK_LOST_AFTER_S being a day), so a row
 * untouched this long is held by no live delivery, and the resumed planning message can take it.
 */
import { and, eq, lt, ne, sql } from "drizzle-orm";
import { openDb, schema } from "../db/index.js";
import type { Logger } from "../log.js";
import type { HeavyBindings } from "./bindings.js";
import { publishTask } from "./events.js";

const LOST = { code: "task_lost", message: "The task was never run: its queue message was lost. Create it again." };
const t = schema.tasks;

export async function failLostTasks(env: Pick<HeavyBindings, "DB" | "SESSIONS" | "HEAVY_QUEUE">, log: Logger, lostAfterMs: number, now = Date.now()): Promise<number> {
  const db = openDb(env.DB);
  const untouched = lt(t.updatedAt, now - lostAfterMs);
  const lost = await db
    .update(t)
    .set({ status: "failed", error: LOST, finishedAt: now, updatedAt: now })
    .where(and(eq(t.status, "queued"), untouched))
    .returning();
  const stopped = await db
    .update(t)
    .set({ status: "failed", error: sql`json_object('code', ${LOST.code}, 'message', ${STOPPED} || coalesce(json_extract(${t.error}, '$.message'), 'none recorded'))`, finishedAt: now, updatedAt: now })
    .where(and(eq(t.status, "running"), ne(t.type, "batch"), untouched))
    .returning();
  const resumed = await resumeBatches(env, now - lostAfterMs, now);
  // Every run, not only for this run's tasks: a run that failed between the two writes left its batches
  // validating under tasks no longer queued, which only this catches.
  await env.DB.prepare(
    `UPDATE batches SET status = 'failed', failed_at = ?1, errors = ?2 WHERE status = 'validating' AND EXISTS (
       SELECT 1 FROM tasks t WHERE t.tenant_id = batches.tenant_id AND t.id = batches.task_id AND t.status = 'failed'
       AND json_extract(t.error, '$.code') = ?3)`,
  )
    .bind(now, JSON.stringify([{ ...LOST, line: null, param: null }]), LOST.code)
    .run();
  const failed = [...lost, ...stopped];
  for (const task of failed) await publishTask(env, task, log);
  if (failed.length) log.warn("lost tasks failed", { tasks: failed.length, ids: failed.slice(0, 20).map((x) => x.id) });
  if (resumed.length) log.warn("stalled batches resumed", { tasks: resumed.length, ids: resumed.slice(0, 20) });
  return failed.length;
}

const STOPPED = "The task stopped running and no retry is left: its queue message was lost. Last error: ";

/**
 * Each stalled batch task is touched first, so a resend that fails (or does not help) is tried again only a
 * whole CIO_TASK_LOST_AFTER_S later, never twice in one run; the message is the planning one the task began with.
 */
async function resumeBatches(env: Pick<HeavyBindings, "DB" | "HEAVY_QUEUE">, before: number, now: number): Promise<string[]> {
  const stalled = await openDb(env.DB)
    .update(t)
    .set({ updatedAt: now })
    .where(and(eq(t.status, "running"), eq(t.type, "batch"), lt(t.updatedAt, before)))
    .returning({ id: t.id, tenantId: t.tenantId, requestId: t.requestId });
  if (!stalled.length) return [];
  const messages = stalled.map((x) => ({ body: { kind: "task" as const, taskId: x.id, tenantId: x.tenantId, requestId: x.requestId ?? x.id } }));
  // Queues takes at most 100 messages a call.
  for (let i = 0; i < messages.length; i += 100) await env.HEAVY_QUEUE.sendBatch(messages.slice(i, i + 100));
  return stalled.map((x) => x.id);
}
