/** Calls into Workers AI for the tool: the call races the deadline, and its errors become ToolFailures. */
import { aiErrorMessage, isRetryableAiError, runAi, type AiRunner } from "../../../../lib/ai/workers-ai.js";
import { ToolFailure } from "../../../../lib/tools/tool-entrypoint.js";

export async function runModel(ai: AiRunner, model: string, inputs: Record<string, unknown>, signal: AbortSignal): Promise<unknown> {
  try {
    return await runAi(ai, model, inputs, signal);
  } catch (err) {
    if (signal.aborted) throw err;
    const message = aiErrorMessage(err);
    throw new ToolFailure("ai_error", `Workers AI (${model}) failed: ${message}`, isRetryableAiError(message));
  }
}
