/**
 * The `heavy` queue's consumer. Each message runs on its own; one that throws is retried with exponential
 * backoff (its error kept on the task row), and after the queue's max_retries it goes to the dead-letter
 * queue, whose consumer (dead-letter.ts) marks the task failed. Malformed messages are logged and dropped:
 * no retry could make them valid.
 */
import { Logger } from "../../../lib/log.js";
import { HeavyMessageSchema, type HeavyMessage } from "../../../lib/protocol/heavy.js";
import { PartBusy } from "./jobs/batch/claim.js";
import { runBatchPart } from "./jobs/batch/part.js";
import type { HeavyEnv } from "./env.js";
import { runTask } from "./run-task.js";
import { backoffSeconds, type HeavySettings } from "./settings.js";
import { noteAttemptError } from "./task-store.js";

export async function consume(batch: MessageBatch<unknown>, env: HeavyEnv, s: HeavySettings): Promise<void> {
  await Promise.all(batch.messages.map((m) => consumeOne(m, env, s)));
}

async function consumeOne(m: Message<unknown>, env: HeavyEnv, s: HeavySettings): Promise<void> {
  const base = new Logger({ component: "queue-heavy" }, s.CIO_LOG_LEVEL);
  const parsed = HeavyMessageSchema.safeParse(m.body);
  if (!parsed.success) {
    base.error("malformed message dropped", { messageId: m.id, issues: parsed.error.issues.slice(0, 3) });
    return m.ack();
  }
  const msg = parsed.data;
  const log = base.child({ requestId: msg.requestId, tenantId: msg.tenantId, attempt: m.attempts });
  try {
    await dispatch(msg, env, s, log);
    m.ack();
  } catch (err) {
    // A batch part another delivery holds is looked at again once that claim would have ended.
    const busy = PartBusy.delayOf(err);
    const delaySeconds = busy ?? backoffSeconds(s, m.attempts);
    if (busy) log.info("batch part held by another delivery; retried when its claim ends", { delaySeconds });
    else log.warn("job attempt failed; retrying", { err, delaySeconds, message: msg });
    if (msg.kind === "task") {
      await noteAttemptError(env.DB, msg.tenantId, msg.taskId, { code: "attempt_failed", message: errorText(err) }).catch((e) =>
        log.error("could not record the attempt's error", { err: e }),
      );
    }
    m.retry({ delaySeconds });
  }
}

function dispatch(msg: HeavyMessage, env: HeavyEnv, s: HeavySettings, log: Logger): Promise<void> {
  if (msg.kind === "task") return runTask(env, s, msg.tenantId, msg.taskId, log.child({ taskId: msg.taskId }));
  return runBatchPart(env, s, msg, log.child({ batchId: msg.batchId, part: msg.part }));
}

export const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err)).slice(0, 1000);
