/**
 * Tasks left `queued` with no message that will ever run them: the queue send and the mark-failed after it
 * both failed (tasks.ts enqueueTask), or the message outlived the queue's retention in a backlog. Untouched
 * for longer than a message can live, such a task is failed visibly (`task_lost`), its session hears of it,
 * and a batch still validating under it fails with it. Run by the orchestrator's hourly cron.
 */
import { and, eq, lt } from "drizzle-orm";
import { openDb, schema } from "../db/index.js";
import type { Logger } from "../log.js";
import type { HeavyBindings } from "./bindings.js";
import { publishTask } from "./events.js";

const LOST = { code: "task_lost", message: "The task was never run: its queue message was lost. Create it again." };

export async function failLostTasks(env: Pick<HeavyBindings, "DB" | "SESSIONS">, log: Logger, lostAfterMs: number, now = Date.now()): Promise<number> {
  const t = schema.tasks;
  const db = openDb(env.DB);
  const lost = await db
    .update(t)
    .set({ status: "failed", error: LOST, finishedAt: now, updatedAt: now })
    .where(and(eq(t.status, "queued"), lt(t.updatedAt, now - lostAfterMs)))
    .returning();
  // Every run, not only for this run's tasks: a run that failed between the two writes left its batches
  // validating under tasks no longer queued, which only this catches.
  await env.DB.prepare(
    `UPDATE batches SET status = 'failed', failed_at = ?1, errors = ?2 WHERE status = 'validating' AND EXISTS (
       SELECT 1 FROM tasks t WHERE t.tenant_id = batches.tenant_id AND t.id = batches.task_id AND t.status = 'failed'
       AND json_extract(t.error, '$.code') = ?3)`,
  )
    .bind(now, JSON.stringify([{ ...LOST, line: null, param: null }]), LOST.code)
    .run();
  if (!lost.length) return 0;
  for (const task of lost) await publishTask(env, task, log);
  log.warn("lost tasks failed", { tasks: lost.length, ids: lost.slice(0, 20).map((x) => x.id) });
  return lost.length;
}
