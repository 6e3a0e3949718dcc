/**
 * Runs one task message: claim the row (a finished or cancelled task is acknowledged without work, which
 * makes redelivery harmless; one another delivery is running is retried once that claim would end, so a
 * duplicate message neither runs the model again nor ends the task), run its job with throttled progress,
 * record the outcome. Errors other than JobFailure give the claim back and propagate, so the consumer
 * retries the message with backoff.
 */
import type { Logger } from "../../../lib/log.js";
import { publishTask } from "../../../lib/heavy/events.js";
import type { TaskRow } from "../../../lib/heavy/tasks.js";
import { holding } from "./claims.js";
import type { HeavyEnv } from "./env.js";
import { JOBS } from "./jobs/index.js";
import { JobFailure, TaskGone, type JobContext } from "./job.js";
import type { HeavySettings } from "./settings.js";
import { taskRefusal } from "./task-standing.js";
import { claim, fail, readTask, release, setProgress, succeed, type ClaimedTask } from "./task-store.js";

export async function runTask(env: HeavyEnv, s: HeavySettings, tenantId: string, taskId: string, log: Logger): Promise<void> {
  // Throws ClaimBusy while another delivery runs the task: this one is retried when that claim would end.
  const task = await claim(env.DB, tenantId, taskId, s.CIO_BATCH_CLAIM_TTL_MS);
  if (!task) {
    log.info("task already finished or cancelled; message acknowledged", { taskId });
    return;
  }
  await holding("task", () => release(env.DB, task), log, () => run(env, s, task, log));
}

async function run(env: HeavyEnv, s: HeavySettings, task: ClaimedTask, log: Logger): Promise<void> {
  await publishTask(env, task, log);
  const refusal = await taskRefusal(env.DB, task);
  if (refusal) return failTask(env, task, refusal, log);
  const ctx = jobContext(env, s, task, log);
  try {
    const outcome = await JOBS[task.type](ctx);
    // Later messages end it (a batch's parts, or the task requeued for the rate limit): the claim was this attempt's.
    if (outcome === "pending") return await release(env.DB, task);
    const done = await succeed(env.DB, task, outcome.summary, outcome.resultRef);
    if (done) await publishTask(env, done, log);
  } catch (err) {
    if (err instanceof TaskGone) return log.info("task cancelled while running", { taskId: task.id });
    if (!(err instanceof JobFailure)) throw err;
    await failTask(env, task, err, log);
  }
}

async function failTask(env: HeavyEnv, task: ClaimedTask, error: { code: string; message: string }, log: Logger) {
  const failed = await fail(env.DB, task, { code: error.code, message: error.message });
  if (failed) await publishTask(env, failed, log);
  log.warn("task failed", { taskId: task.id, code: error.code, message: error.message });
}

function jobContext(env: HeavyEnv, settings: HeavySettings, task: ClaimedTask, log: Logger): JobContext {
  let last = 0;
  let current: TaskRow = task;
  return {
    env,
    settings,
    task,
    log,
    async progress(fraction) {
      const now = Date.now();
      if (now - last < settings.CIO_HEAVY_PROGRESS_MS) return;
      last = now;
      const row = await setProgress(env.DB, current, Math.min(0.99, Math.max(0, fraction)), now);
      if (!row) throw new TaskGone();
      current = row;
      await publishTask(env, row, log);
    },
    async stillRunning() {
      const row = await readTask(env.DB, task.tenantId, task.id).then(
        (r) => r ?? null,
        (err: unknown) => void log.warn("could not read the task before storing its result; storing it", { taskId: task.id, err }),
      );
      if (row === null || (row && row.status !== "running")) throw new TaskGone();
    },
  };
}
