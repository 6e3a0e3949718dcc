/** The orchestrator's side of POST /v1/feedback: validate, apply, and answer in the RPC reply shape. */
import { z } from "zod";
import { ApiError, badRequest, type SerializedApiError } from "../../../lib/errors.js";
import type { OrchestratorEnv } from "./env.js";
import type { FeedbackResult } from "../../../lib/protocol/feedback.js";
import { applyFeedback, FeedbackCallSchema } from "./learning/feedback.js";
import { flushCalls } from "./learning/record-queue.js";
import { orchestratorSettings } from "./settings.js";

export type FeedbackReply = { kind: "ok"; result: FeedbackResult } | { kind: "error"; error: SerializedApiError };

export async function feedback(env: OrchestratorEnv, raw: unknown): Promise<FeedbackReply> {
  const parsed = FeedbackCallSchema.safeParse(raw);
  if (!parsed.success) return { kind: "error", error: badRequest(z.prettifyError(parsed.error)).toJSON() };
  const s = orchestratorSettings(env);
  try {
    // Calls this isolate still holds are written first: the rated answer may be one of them.
    await flushCalls(env.DB, s.CIO_LEARNING_ALPHA);
    return { kind: "ok", result: await applyFeedback(env.DB, parsed.data, s.CIO_LEARNING_ALPHA, s.CIO_LEARNING_FLUSH_MS) };
  } catch (err) {
    if (err instanceof ApiError) return { kind: "error", error: err.toJSON() };
    throw err;
  }
}
