/**
 * A long text generation run as a task: the request (kept in R2, it can be large) goes through the
 * orchestrator like any chat call, and the completion is stored in R2. A model's 4xx fails the task at
 * once; 429 and 5xx are thrown so the queue retries with backoff.
 */
import { z } from "zod";
import { r2Keys } from "../../../../lib/heavy/ids.js";
import { ChatCompletionRequestSchema, type ChatReply } from "../../../../lib/protocol/index.js";
import { JobFailure, type Job } from "../job.js";

const ParamsSchema = z.object({ keyId: z.string().min(1) });

export const chatCompletion: Job = async ({ env, task }) => {
  const { keyId } = ParamsSchema.parse(task.params);
  const obj = task.inputRef ? await env.FILES.get(task.inputRef) : null;
  if (!obj) throw new JobFailure("input_missing", "The task's request is no longer stored.");
  const body = ChatCompletionRequestSchema.parse(await obj.json());
  const reply = (await env.ORCHESTRATOR.chat({
    requestId: task.requestId ?? task.id,
    tenantId: task.tenantId,
    keyId,
    body: { ...body, stream: false },
  })) as unknown as ChatReply;
  if (reply.kind === "error") {
    const { status, error } = reply.error;
    if (status === 429 || status >= 500) throw new Error(`model call failed (${status}): ${error.message}`);
    throw new JobFailure(error.code ?? "model_error", error.message);
  }
  if (reply.kind !== "json") throw new Error("expected a JSON completion");
  const key = r2Keys.taskResult(task.tenantId, task.id);
  await env.FILES.put(key, JSON.stringify(reply.completion), { httpMetadata: { contentType: "application/json" } });
  const text = reply.completion.choices[0]?.message?.content;
  const summary = typeof text === "string" ? text.slice(0, 280) : "completion stored";
  return { summary, resultRef: key };
};
