/**
 * Tasks left `queued` with no message that will ever run them: the queue send and the mark-failed after it
 * both failed (tasks.ts enqueueTask), or the message outlived the queue's retention in a backlog. Untouched
 * for longer than a message can live, such a task is failed visibly (`task_lost`), its session hears of it,
 * and a batch still validating under it fails with it. Run by the orchestrator's hourly cron.
 */
import { and, eq, inArray, lt } from "drizzle-orm";
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
  if (!lost.length) return 0;
  const b = schema.batches;
  for (const task of lost.filter((x) => x.type === "batch")) {
    await db
      .update(b)
      .set({ status: "failed", failedAt: now, errors: [{ ...LOST, line: null, param: null }] })
      .where(and(eq(b.tenantId, task.tenantId), eq(b.taskId, task.id), inArray(b.status, ["validating"])));
  }
  for (const task of lost) await publishTask(env, task, log);
  log.warn("lost tasks failed", { tasks: lost.length, ids: lost.slice(0, 20).map((x) => x.id) });
  return lost.length;
}
