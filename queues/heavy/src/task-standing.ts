/**
 * Whether a queued task may still run: the key that queued it not revoked, its tenant not suspended. Chat
 * tasks and batch requests are asked at admission (jobs/batch/admit.ts), with their limits; the others here,
 * before their job runs (an image bills Workers AI whoever asks after the revocation).
 */
import { keyStanding, tenantStanding } from "../../../lib/db/key-limits.js";
import type { TaskRow } from "../../../lib/heavy/tasks.js";
import { REFUSED } from "./jobs/batch/admit.js";

const ADMITTED_BY_JOB: ReadonlySet<TaskRow["type"]> = new Set(["chat_completion", "batch"]);

export async function taskRefusal(db: D1Database, task: TaskRow): Promise<{ code: keyof typeof REFUSED; message: string } | null> {
  if (ADMITTED_BY_JOB.has(task.type)) return null;
  const status = task.keyId ? (await keyStanding(db, task.tenantId, task.keyId)).status : (await tenantStanding(db, task.tenantId)).status;
  return status === "ok" ? null : { code: status, message: REFUSED[status] };
}
