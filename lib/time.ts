/** UTC day as YYYY-MM-DD: the key of usage rows and of daily budgets. */
export const utcDay = (t = Date.now()) => new Date(t).toISOString().slice(0, 10);
export const msToNextUtcDay = (t = Date.now()) => 86_400_000 - (t % 86_400_000);
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
/** Exponential backoff with full jitter (AWS architecture blog): spreads retries of many clients apart. */
export const backoffMs = (attempt: number, baseMs: number, capMs = 30_000) =>
  Math.floor(Math.random() * Math.min(capMs, baseMs * 2 ** attempt));

/** `p`, unless `signal` aborts first: then it rejects with the abort's reason and `p`'s outcome is ignored. */
export function unlessAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const stop = () => reject(signal.reason);
    signal.addEventListener("abort", stop, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener("abort", stop));
  });
}
