/**
 * Workers AI as our Workers call it through the `AI` binding: `run(model, inputs)`. The binding takes no
 * AbortSignal, so a call races one; its numbered errors (e.g. "3040: Capacity temporarily exceeded") are
 * sorted into those that pass with time and those that do not, for callers that retry.
 */

/** The part of the Workers AI binding we use; model names are configurable, so plain strings. */
export interface AiRunner {
  run(model: string, inputs: Record<string, unknown>): Promise<unknown>;
}

/** Capacity, rate and internal errors pass with time; bad input, unknown models and quotas do not. */
const RETRYABLE = /\b(3040|3043|3007|3008|3039)\b|capacity|temporarily|internal server error|timed? ?out/i;

export const isRetryableAiError = (message: string) => RETRYABLE.test(message);

export const aiErrorMessage = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** Runs the model; rejects with the signal's reason once it aborts, whether or not the model answers later. */
export function runAi(ai: AiRunner, model: string, inputs: Record<string, unknown>, signal: AbortSignal): Promise<unknown> {
  return Promise.race([ai.run(model, inputs), rejectOnAbort(signal)]);
}

function rejectOnAbort(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
}
