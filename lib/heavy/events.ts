/**
 * Task progress goes to the session that started the task, as a `task` event. Publishing is best effort
 * by design: the task row is the record, and a session that is gone or unreachable must not fail the job.
 */
import type { Logger } from "../log.js";
import { publishToSession, type TaskEvent } from "../protocol/session-events.js";
import type { HeavyBindings } from "./bindings.js";
import { etaSeconds, type TaskRow } from "./tasks.js";

export function taskEvent(row: TaskRow, now = Date.now()): TaskEvent {
  const eta = etaSeconds(row, now);
  return {
    type: "task",
    task_id: row.id,
    task_type: row.type,
    status: row.status,
    progress: Math.min(1, Math.max(0, row.progress)),
    ...(eta === null ? {} : { eta_s: eta }),
    ...(row.summary ? { summary: row.summary } : {}),
    ...(row.resultRef ? { result_url: `/v1/tasks/${row.id}/result` } : {}),
    ...(row.error ? { error: row.error } : {}),
  };
}


export async function publishTask(env: Pick<HeavyBindings, "SESSIONS">, row: TaskRow, log: Logger): Promise<void> {
  if (!row.sessionId) return;
  try {
    await publishToSession(env.SESSIONS, row.tenantId, row.sessionId, taskEvent(row));
  } catch (err) {
    log.warn("task event not delivered to the session", { err, taskId: row.id, sessionId: row.sessionId });
  }
}
