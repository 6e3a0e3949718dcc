/**
 * Brave's rate limits, as its answers state them (the Search API documentation's response headers):
 * X-RateLimit-Limit, X-RateLimit-Remaining and X-RateLimit-Reset each list one entry per window, per second
 * then per month, e.g. "1, 2000", "0, 1927" and "1, 1419704" (Reset in seconds). Its 429 carries no
 * Retry-After, so these are what say how long to wait: until the spent window resets.
 */

/** Brave's windows, in the order its headers list them. */
const WINDOWS = ["per-second", "per-month"] as const;

export interface SpentWindow {
  /** "per-second", "per-month", or "window N" for one Brave adds later. */
  name: string;
  /** Requests the window allows, when Brave said. */
  limit?: number;
  /** How long until it resets. */
  resetMs: number;
}

/** The window with nothing remaining that resets last (its wait covers the others), or null when none is spent. */
export function spentWindow(h: Headers): SpentWindow | null {
  const remaining = entries(h.get("x-ratelimit-remaining"));
  const reset = entries(h.get("x-ratelimit-reset"));
  const limit = entries(h.get("x-ratelimit-limit"));
  let spent: SpentWindow | null = null;
  for (const [i, left] of remaining.entries()) {
    const seconds = reset[i];
    if (left !== 0 || seconds === undefined || !(seconds >= 0)) continue;
    const resetMs = Math.round(seconds * 1000);
    if (spent && spent.resetMs >= resetMs) continue;
    const allowed = limit[i];
    spent = { name: WINDOWS[i] ?? `window ${i + 1}`, resetMs, ...(Number.isFinite(allowed) ? { limit: allowed } : {}) };
  }
  return spent;
}

/** "1, 1419704" → [1, 1419704]; an entry that is no number is NaN, so positions still line up. */
const entries = (header: string | null): number[] => (header ? header.split(",").map((e) => Number(e.trim() || NaN)) : []);
