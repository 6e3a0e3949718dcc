/**
 * A long text generation run as a task: the request (kept in R2, it can be large) goes through the
 * orchestrator like any chat call, and the completion is stored in R2. The call is admitted by the
 * tenant's rate limiter when it runs, under the limits of the key that created the task, exactly like a
 * batch's requests (batch/admit.ts): an exhausted daily budget fails the task, and a rate or concurrency
 * limit that holds it past CIO_BATCH_RATE_WAIT_MS sends it back to the queue, delayed, without using a
 * retry. A completion already stored (an attempt whose answer was stored, then failed to finish the
 * task) finishes the task without calling the model again; a duplicate delivery while the model answers
 * waits for the task's claim (run-task.ts). A model's 4xx fails the task at once; 429 and
 * 5xx are thrown so the queue retries with backoff.
 */
import { z } from "zod";
import { publishTask } from "../../../../lib/heavy/events.js";
import { r2Keys } from "../../../../lib/heavy/ids.js";
import { ChatCompletionRequestSchema, type ChatCompletion, type ChatReply } from "../../../../lib/protocol/index.js";
import { unstreamed } from "../../../../lib/protocol/heavy.js";
import { AdmissionLimitsSchema } from "../../../../lib/protocol/session.js";
import { JobFailure, type Job, type JobContext, type JobOutcome } from "../job.js";
import { unclaim } from "../task-store.js";
import { admit, RateLimited, release } from "./batch/admit.js";

const ParamsSchema = z.object({
  keyId: z.string().min(1),
  /** The creating key's limits, stored by the gateway. Tasks queued before it stored them have none. */
  limits: AdmissionLimitsSchema.omit({ leaseTtlMs: true }).optional(),
});

export const chatCompletion: Job = async (ctx) => {
  const { env, task, log } = ctx;
  const { keyId, limits } = ParamsSchema.parse(task.params);
  const resultRef = r2Keys.taskResult(task.tenantId, task.id);
  const stored = await env.FILES.get(resultRef);
  if (stored) {
    log.info("the completion was stored by an earlier attempt; the model is not called again");
    return outcome(resultRef, await stored.json<ChatCompletion>());
  }
  const obj = task.inputRef ? await env.FILES.get(task.inputRef) : null;
  if (!obj) throw new JobFailure("input_missing", "The task's request is no longer stored.");
  const body = ChatCompletionRequestSchema.parse(await obj.json());

  let leaseId: string | undefined;
  if (limits) {
    const budget = { waitedMs: 0, maxWaitMs: ctx.settings.CIO_BATCH_RATE_WAIT_MS, leaseTtlMs: ctx.settings.CIO_LEASE_TTL_MS };
    const admission = await admit(env, { tenantId: task.tenantId, keyId, limits }, budget).catch((err: unknown) => {
      if (err instanceof RateLimited) return err;
      throw err;
    });
    if (admission instanceof RateLimited) return requeue(ctx, admission);
    if (!admission.ok) throw new JobFailure(admission.code, admission.message);
    leaseId = admission.leaseId;
  } else {
    log.warn("task queued without its key's limits (before they were stored); run without admission", { taskId: task.id });
  }

  let reply: ChatReply;
  try {
    reply = (await env.ORCHESTRATOR.chat({
      requestId: task.requestId ?? task.id,
      tenantId: task.tenantId,
      keyId,
      body: unstreamed(body),
      leaseId,
    })) as unknown as ChatReply;
  } catch (err) {
    // The orchestrator settles the lease of a call it answered; one that never returned is released here.
    if (leaseId) await release(env, task.tenantId, leaseId).catch((e: unknown) => log.error("lease release failed", { err: e }));
    throw err;
  }
  if (reply.kind === "error") {
    const { status, error } = reply.error;
    if (status === 429 || status >= 500) throw new Error(`model call failed (${status}): ${error.message}`);
    throw new JobFailure(error.code ?? "model_error", error.message);
  }
  if (reply.kind !== "json") throw new Error("expected a JSON completion");
  // Cancelled while the model answered: the answer is not stored. The call itself ran to its end: an RPC call
  // cannot be stopped from here.
  await ctx.stillRunning();
  await env.FILES.put(resultRef, JSON.stringify(reply.completion), { httpMetadata: { contentType: "application/json" } });
  return outcome(resultRef, reply.completion);
};

function outcome(resultRef: string, completion: ChatCompletion): JobOutcome {
  const text = completion.choices[0]?.message?.content;
  return { summary: typeof text === "string" ? text.slice(0, 280) : "completion stored", resultRef };
}

/**
 * The tenant's rate or concurrency limit held the task past the wait: it goes back to the queue as a new
 * message, delayed until the limit frees up, and its row back to queued, its claim given back (see
 * batch/part.ts, requeue). Not
 * a retry: waiting for the tenant's own limits must not use up the retries meant for failures. The row
 * changes first, so a failed send is retried by the queue with no second message about.
 */
async function requeue({ env, task, log }: JobContext, err: RateLimited): Promise<JobOutcome> {
  const row = await unclaim(env.DB, task);
  if (!row) {
    log.info("task cancelled while waiting for the rate limit", { taskId: task.id });
    return "pending";
  }
  const { delaySeconds } = err;
  await env.HEAVY_QUEUE.send({ kind: "task", taskId: task.id, tenantId: task.tenantId, requestId: task.requestId ?? task.id }, { delaySeconds });
  await publishTask(env, row, log);
  log.info("task waits for the tenant's rate limit", { taskId: task.id, delaySeconds });
  return "pending";
}
