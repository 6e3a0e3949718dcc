/**
 * The dead-letter queue's consumer: a message lands here after its last retry. Its task is marked failed
 * with the last attempt's error (or the batch part's requests are written as failed), so no accepted job
 * ever just disappears; not while a duplicate delivery of the message still holds the task or part (claims.ts). Acknowledged only once that is recorded; a failure here is retried by the DLQ.
 */
import { Logger } from "../../../lib/log.js";
import { publishTask } from "../../../lib/heavy/events.js";
import { HeavyMessageSchema } from "../../../lib/protocol/heavy.js";
import { ClaimBusy } from "./claims.js";
import { failBatchPart } from "./jobs/batch/part.js";
import { failBatch } from "./jobs/batch/finalize.js";
import type { HeavyEnv } from "./env.js";
import { backoffSeconds, type HeavySettings } from "./settings.js";
import { failUnheld, readTask } from "./task-store.js";

export async function consumeDeadLetters(batch: MessageBatch<unknown>, env: HeavyEnv, s: HeavySettings): Promise<void> {
  const log = new Logger({ component: "queue-heavy-dlq" }, s.CIO_LOG_LEVEL);
  for (const m of batch.messages) {
    const parsed = HeavyMessageSchema.safeParse(m.body);
    if (!parsed.success) {
      log.error("malformed dead letter dropped", { messageId: m.id });
      m.ack();
      continue;
    }
    const msg = parsed.data;
    const l = log.child({ requestId: msg.requestId, tenantId: msg.tenantId });
    try {
      if (msg.kind === "batch_part") {
        await failBatchPart(env, s, msg, l);
      } else {
        const task = await readTask(env.DB, msg.tenantId, msg.taskId);
        const error = { code: "retries_exhausted", message: `gave up after ${task?.attempts ?? "all"} attempts: ${task?.error?.message ?? "unknown error"}` };
        // Throws ClaimBusy while a duplicate of the dead message still runs the task: its answer is not dropped.
        const failed = await failUnheld(env.DB, msg.tenantId, msg.taskId, error, s.CIO_BATCH_CLAIM_TTL_MS);
        // Also when an earlier delivery failed the task and then could not fail its batch: the batch would
        // otherwise stay validating (or in progress) for good beside a failed task.
        const dead = failed ?? (task?.status === "failed" ? task : undefined);
        if (dead?.type === "batch") await failBatch(env, dead, dead.error ?? error);
        if (failed) await publishTask(env, failed, l);
        l.error("task failed after its last retry", { taskId: msg.taskId, error });
      }
      m.ack();
    } catch (err) {
      // Backing off, as the main queue does: a D1 outage must not use up every retry in a few seconds. A task
      // or batch part still run by another delivery is failed only once that delivery's claim has ended.
      const busy = err instanceof ClaimBusy ? err : undefined;
      const delaySeconds = busy?.delaySeconds ?? backoffSeconds(s, m.attempts);
      if (busy) l.info(`${busy.what} still run by another delivery; its dead letter waits for that claim to end`, { delaySeconds });
      else l.error("dead letter could not be recorded; retrying", { err, delaySeconds });
      m.retry({ delaySeconds });
    }
  }
}
