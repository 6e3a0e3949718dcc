/**
 * Calls into Workers AI. The binding takes no AbortSignal, so the call races the deadline; Workers AI's
 * numbered errors (e.g. "3040: Capacity temporarily exceeded") are sorted into retryable or not.
 */
import { ToolFailure } from "../../../../lib/tools/tool-entrypoint.js";
import type { AiRunner } from "./settings.js";

/** Capacity, rate and internal errors pass with time; bad input, unknown models and quotas do not. */
const RETRYABLE = /\b(3040|3043|3007|3008|3039)\b|capacity|temporarily|internal server error|timed? ?out/i;

export async function runModel(ai: AiRunner, model: string, inputs: Record<string, unknown>, signal: AbortSignal): Promise<unknown> {
  try {
    return await Promise.race([ai.run(model, inputs), rejectOnAbort(signal)]);
  } catch (err) {
    if (signal.aborted) throw err;
    const message = err instanceof Error ? err.message : String(err);
    throw new ToolFailure("ai_error", `Workers AI (${model}) failed: ${message}`, RETRYABLE.test(message));
  }
}

function rejectOnAbort(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
}
