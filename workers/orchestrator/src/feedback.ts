/** The orchestrator's side of POST /v1/feedback: validate, apply, and answer in the RPC reply shape. */
import { z } from "zod";
import { ApiError, badRequest, type SerializedApiError } from "../../../lib/errors.js";
import { Logger } from "../../../lib/log.js";
import type { OrchestratorEnv } from "./env.js";
import type { FeedbackResult } from "../../../lib/protocol/feedback.js";
import { applyFeedback, FeedbackCallSchema, type FeedbackCall } from "./learning/feedback.js";
import { flushCalls, holdsAnswer, queueSettings, type QueueSettings } from "./learning/record-queue.js";
import { orchestratorSettings } from "./settings.js";

export type FeedbackReply = { kind: "ok"; result: FeedbackResult } | { kind: "error"; error: SerializedApiError };

export async function feedback(env: OrchestratorEnv, raw: unknown): Promise<FeedbackReply> {
  const parsed = FeedbackCallSchema.safeParse(raw);
  if (!parsed.success) return { kind: "error", error: badRequest(z.prettifyError(parsed.error)).toJSON() };
  const s = orchestratorSettings(env);
  try {
    await flushHeld(env.DB, parsed.data, queueSettings(s, new Logger({ component: "feedback", tenantId: parsed.data.tenantId, requestId: parsed.data.requestId }, s.CIO_LOG_LEVEL)));
    return { kind: "ok", result: await applyFeedback(env.DB, parsed.data, s.CIO_LEARNING_ALPHA, s.CIO_LEARNING_FLUSH_MS) };
  } catch (err) {
    if (err instanceof ApiError) return { kind: "error", error: err.toJSON() };
    throw err;
  }
}

/**
 * Calls this isolate still holds are written first: the rated answer may be one of them. A failed write keeps
 * them queued (record-queue.ts) and fails this rating only when they hold the rated answer, which the client's
 * retry then finds; a rating of any other answer goes on.
 */
async function flushHeld(d1: D1Database, call: FeedbackCall, s: QueueSettings): Promise<void> {
  try {
    await flushCalls(d1, s);
  } catch (err) {
    if (holdsAnswer(d1, call.tenantId, call.body.request_id)) throw err;
    s.log.error("tool calls could not be recorded", { err });
  }
}
