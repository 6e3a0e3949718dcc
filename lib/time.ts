/** UTC day as YYYY-MM-DD: the key of usage rows and of daily budgets. */
export const utcDay = (t = Date.now()) => new Date(t).toISOString().slice(0, 10);
export const msToNextUtcDay = (t = Date.now()) => 86_400_000 - (t % 86_400_000);
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
/** Exponential backoff with full jitter (AWS architecture blog): spreads retries of many clients apart. */
export const backoffMs = (attempt: number, baseMs: number, capMs = 30_000) =>
  Math.floor(Math.random() * Math.min(capMs, baseMs * 2 ** attempt));
