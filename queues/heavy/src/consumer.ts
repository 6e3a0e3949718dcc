/**
 * The `heavy` queue's consumer. Each message runs on its own; one that throws is retried with exponential
 * backoff (its error kept on the task row), one whose task or part another delivery holds once that claim
 * would end (claims.ts), and after the queue's max_retries it goes to the dead-letter
 * queue, whose consumer (dead-letter.ts) marks the task failed. Malformed messages are logged and dropped:
 * no retry could make them valid.
 */
import { Logger } from "../../../lib/log.js";
import { HeavyMessageSchema, type HeavyMessage } from "../../../lib/protocol/heavy.js";
import { ClaimBusy } from "./claims.js";
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
    // A task or batch part another delivery holds is looked at again once that claim would have ended. No
    // attempt failed: nothing is noted on the task, which the other delivery is running.
    const busy = err instanceof ClaimBusy ? err : undefined;
    const delaySeconds = busy?.delaySeconds ?? backoffSeconds(s, m.attempts);
    if (busy) log.info(`${busy.what} held by another delivery; retried when its claim ends`, { delaySeconds });
    else log.warn("job attempt failed; retrying", { err, delaySeconds, message: msg });
    if (msg.kind === "task" && !busy) {
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
