/**
 * Text to image as a task: the model runs on Workers AI, the picture is stored in R2 under the task's key
 * with its content type, and `GET /v1/tasks/:id/result` serves it. Retrying is safe: an attempt that finds
 * the picture already stored (a redelivery after the put) finishes without running the model again, and a
 * duplicate delivery while the model draws waits for the task's claim (run-task.ts) instead of drawing too.
 * Capacity and timeout errors are thrown so the queue retries with backoff; a refused prompt, an unknown
 * model or a missing AI binding fail the task at once with the reason. Each picture the model draws is booked
 * to the tenant's usage and daily budget as CIO_IMAGE_TOKENS tokens plus its prompt's; a task whose tenant's
 * budget is spent when it runs fails budget_exceeded without drawing, as a chat_completion task does. The
 * gateway's check when the task was created does not do: tasks queued together all passed it.
 */
import { imageBytes, sniffImageType } from "../../../../lib/ai/image.js";
import { aiErrorMessage, isRetryableAiError, runAi, type AiRunner } from "../../../../lib/ai/workers-ai.js";
import { r2Keys } from "../../../../lib/heavy/ids.js";
import { BUDGET_EXHAUSTED } from "../../../../lib/errors.js";
import { imageUsage } from "../../../../lib/ai/token-estimates.js";
import { beginSpending, HOLD_MARGIN_MS, type Spending } from "../../../../lib/usage-booking.js";
import { ImageParamsSchema, type ImageParams } from "../../../../lib/protocol/heavy.js";
import type { HeavyEnv } from "../env.js";
import { JobFailure, type Job, type JobContext } from "../job.js";
import { imageModels, type HeavySettings } from "../settings.js";

export interface Refusal {
  code: string;
  message: string;
}

/** Why this Worker cannot run an image task with these parameters, or null when it can. */
export function imageRefusal(env: Pick<HeavyEnv, "AI">, s: HeavySettings, model: string | undefined): Refusal | null {
  if (!env.AI) {
    return {
      code: "ai_not_configured",
      message: "Image generation needs Workers AI, which is not configured here: bind it as AI on cio-queue-heavy (an [ai] binding; it needs a Cloudflare account, so the offline stack has none).",
    };
  }
  const allowed = imageModels(s);
  if (model && !allowed.includes(model)) {
    return { code: "model_not_allowed", message: `The image model '${model}' is not offered; use one of: ${allowed.join(", ")}.` };
  }
  return null;
}

export const generateImage: Job = async ({ env, settings, task, log, progress }) => {
  const parsed = ImageParamsSchema.safeParse(task.params);
  if (!parsed.success) throw new JobFailure("invalid_params", `The task's parameters are invalid: ${parsed.error.issues[0]?.message}`);
  const params = parsed.data;
  const key = r2Keys.taskImage(task.tenantId, task.id);
  const stored = await env.FILES.head(key);
  if (stored) return { summary: summary(stored.httpMetadata?.contentType, stored.size, stored.customMetadata?.model, params), resultRef: key };

  const refusal = imageRefusal(env, settings, params.model);
  if (refusal) throw new JobFailure(refusal.code, refusal.message);
  const model = params.model ?? settings.CIO_IMAGE_MODEL;
  const usage = imageUsage(params.prompt, settings.CIO_IMAGE_TOKENS);
  const spending = await beginDrawing({ env, settings, task, log }, usage.total_tokens);
  // imageRefusal answered null, so AI is bound.
  const output = await run(env.AI!, settings, model, params).catch(async (err: unknown) => {
    await spending.end(null);
    throw err;
  });
  // Booked once the model answered, as it bills then: a retry after a failed store runs (and bills) it again.
  await spending.end({ model, usage });
  const bytes = await imageBytes(output);
  // A malformed answer is the model's hiccup, not the prompt's fault: worth another attempt.
  if (!bytes) throw new Error(`the image model ${model} answered without an image`);
  // Also where a cancel made while the model drew is noticed (progress throws TaskGone): nothing is stored.
  await progress(0.9);
  const contentType = sniffImageType(bytes);
  await env.FILES.put(key, bytes, {
    httpMetadata: { contentType },
    customMetadata: { tenantId: task.tenantId, taskId: task.id, model, prompt: params.prompt.slice(0, 512) },
  });
  return { summary: summary(contentType, bytes.byteLength, model, params), resultRef: key };
};

/**
 * Holds the picture's tokens against the tenant's budget while the model draws, or fails the task when the
 * budget is spent, counting the pictures being drawn. Held past the model's timeout only if this attempt dies.
 */
async function beginDrawing({ env, settings, task, log }: Pick<JobContext, "env" | "settings" | "task" | "log">, tokens: number): Promise<Spending> {
  const holdMs = settings.CIO_IMAGE_TIMEOUT_MS + HOLD_MARGIN_MS;
  const spending = await beginSpending(env, log, "image task", task.tenantId, tokens, holdMs);
  if (!spending) throw new JobFailure("budget_exceeded", BUDGET_EXHAUSTED);
  return spending;
}

async function run(ai: AiRunner, s: HeavySettings, model: string, p: ImageParams): Promise<unknown> {
  const inputs: Record<string, unknown> = { prompt: p.prompt, steps: p.steps ?? s.CIO_IMAGE_STEPS };
  if (p.size) {
    const [width, height] = p.size.split("x").map(Number);
    Object.assign(inputs, { width, height });
  }
  const signal = AbortSignal.timeout(s.CIO_IMAGE_TIMEOUT_MS);
  try {
    return await runAi(ai, model, inputs, signal);
  } catch (err) {
    if (signal.aborted) throw new Error(`Workers AI (${model}) did not answer within ${s.CIO_IMAGE_TIMEOUT_MS} ms`);
    const message = `Workers AI (${model}) failed: ${aiErrorMessage(err)}`;
    if (isRetryableAiError(message)) throw new Error(message);
    throw new JobFailure("ai_error", message);
  }
}

const summary = (contentType: string | undefined, bytes: number, model: string | undefined, p: ImageParams) =>
  `${contentType === "image/png" ? "PNG" : "JPEG"} image (${bytes} bytes) from ${model ?? "the image model"} for "${p.prompt.slice(0, 200)}"`;
