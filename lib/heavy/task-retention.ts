/**
 * What a finished task leaves behind: its row, and its input and result in R2. `DELETE /v1/tasks/{id}`
 * removes one at the tenant's request; the hourly cron removes those finished more than
 * CIO_TASK_RETENTION_S ago. Content first, rows after, as the file sweep does: a run that stops between the
 * two leaves rows whose result is already gone, which the next run deletes. A batch's task is never removed
 * here: its result is the batch's output file, which has its own expiry.
 */
import { and, eq, inArray, lt, ne } from "drizzle-orm";
import { auditInsert, type AuditInput } from "../db/audit.js";
import { deleteListed } from "../db/deleted-rows.js";
import { openDb, schema } from "../db/index.js";
import type { Logger } from "../log.js";
import { TERMINAL } from "../protocol/heavy.js";
import { r2Keys } from "./ids.js";
import { sweepPages } from "./sweep.js";

const t = schema.tasks;
/** Three R2 keys a task may have; R2 deletes at most 1,000 keys per call. */
const PAGE = 300;

type TaskRef = { tenantId: string; id: string };

/**
 * Every key a task may have written, not only the ones its row names: a job that stored its answer after
 * the task was cancelled under it left one no row points to.
 */
const keysOf = (r: TaskRef) => [r2Keys.taskInput(r.tenantId, r.id), r2Keys.taskResult(r.tenantId, r.id), r2Keys.taskImage(r.tenantId, r.id)];

/**
 * Deletes finished, non-batch tasks and their R2 objects; a task that is not finished (any more) is left.
 * `audit` entries are written in the same transaction as the rows' deletion.
 */
export async function deleteTasks(env: { DB: D1Database; FILES: R2Bucket }, tasks: TaskRef[], audit: AuditInput[] = []): Promise<void> {
  if (!tasks.length) return;
  await env.FILES.delete(tasks.flatMap(keysOf));
  const db = openDb(env.DB);
  const [first, ...rest] = tasks.flatMap((r) =>
    deleteListed(db, t, and(eq(t.tenantId, r.tenantId), eq(t.id, r.id), inArray(t.status, [...TERMINAL]), ne(t.type, "batch"))),
  );
  await db.batch([first!, ...rest, ...audit.map((e) => auditInsert(db, e))]);
}

/** Tasks finished (last changed) before `now - retentionMs`, oldest first, up to `maxTasks` per run. */
export async function sweepOldTasks(env: { DB: D1Database; FILES: R2Bucket }, log: Logger, retentionMs: number, maxTasks: number, now = Date.now()): Promise<number> {
  const due = (limit: number) =>
    openDb(env.DB)
      .select({ tenantId: t.tenantId, id: t.id })
      .from(t)
      .where(and(inArray(t.status, [...TERMINAL]), lt(t.updatedAt, now - retentionMs), ne(t.type, "batch")))
      .orderBy(t.updatedAt)
      .limit(limit);
  const swept = await sweepPages(maxTasks, PAGE, due, (rows) => deleteTasks(env, rows));
  if (swept) log.info("tasks past their retention deleted", { tasks: swept });
  return swept;
}
