import { z } from "zod";
import { AdmissionLimitsSchema } from "../../lib/protocol/session.js";

/** What the gateway asks for on every request; the limits come from the key, the tenant and the defaults. */
export const ReserveRequestSchema = AdmissionLimitsSchema.extend({ keyId: z.string() });
export type ReserveRequest = z.infer<typeof ReserveRequestSchema>;

/** Work whose tokens are known before it runs (`beginWork`): the tenant's budget, the tokens, how long to hold them. */
export const BeginWorkSchema = z.object({
  budget: z.number().int().nonnegative().nullable(),
  tokens: z.number().int().nonnegative(),
  ttlMs: z.number().int().positive(),
});
export type BeginWork = z.infer<typeof BeginWorkSchema>;

export type LimitReason = "key_rpm" | "tenant_rpm" | "key_concurrency" | "tenant_concurrency" | "daily_token_budget";

export type Reservation =
  | { ok: true; leaseId: string; limit: number; remaining: number; resetMs: number }
  | { ok: false; reason: LimitReason; retryAfterMs: number; limit: number };

export const WINDOW_MS = 60_000;

/**
 * A sliding one-minute log of admission times: exact, unlike fixed windows that admit 2x at the edge.
 * Expired times are skipped by moving `head` and cut off in one go once they are half the log: removing them
 * from the front one call at a time moved the whole log each time (a busy tenant's holds tens of thousands).
 */
export class SlidingWindow {
  private times: number[] = [];
  private head = 0;
  private adds = 0;

  /**
   * A window holding `n` admissions for each [second, n] of `seconds` (oldest first, as `perSecond` gives them),
   * each made at the last millisecond of its second but not after `now`: so they leave the window up to a
   * second late, never early, and the log stays in order for the admissions that follow.
   */
  static fromSeconds(seconds: [number, number][], now: number): SlidingWindow {
    const w = new SlidingWindow();
    for (const [s, n] of seconds) for (let i = 0; i < n; i++) w.times.push(Math.min(s * 1000 + 999, now));
    return w;
  }

  /** How many admissions were ever added: tells whether the window changed since it was last written. */
  get version(): number {
    return this.adds;
  }

  /** The latest admission, if any. */
  newest(): number | undefined {
    return this.times[this.times.length - 1];
  }

  /**
   * The admissions counted at `now` as [second, n] pairs, oldest first: at most 60 pairs, however busy the
   * window. Read from the end and without moving `head`, so a `now` earlier than the window's own clock
   * (the wall clock against times a test chose) changes nothing.
   */
  perSecond(now: number): [number, number][] {
    const out: [number, number][] = [];
    for (let i = this.times.length - 1; i >= this.head && this.times[i]! > now - WINDOW_MS; i--) {
      const s = Math.floor(this.times[i]! / 1000);
      if (out[0]?.[0] === s) out[0][1]++;
      else out.unshift([s, 1]);
    }
    return out;
  }

  count(now: number): number {
    const cutoff = now - WINDOW_MS;
    while (this.head < this.times.length && this.times[this.head]! <= cutoff) this.head++;
    if (this.head >= COMPACT_AFTER && this.head * 2 >= this.times.length) {
      this.times = this.times.slice(this.head);
      this.head = 0;
    }
    return this.times.length - this.head;
  }

  /**
   * Milliseconds until the window holds fewer than `limit` admissions. When it holds more (a limit lowered,
   * or stale cached limits) count - limit + 1 of them must leave, not just the oldest: waiting for that
   * one alone told clients to retry far too early, and SDKs spent their retries on refusals.
   */
  retryAfter(now: number, limit: number): number {
    // Counted first: counting may cut the log and move `head`, which the index below reads.
    const n = this.count(now);
    const last = this.times[this.head + Math.max(0, n - limit)];
    return last === undefined ? 0 : Math.max(1, last + WINDOW_MS - now);
  }

  add(now: number) {
    this.times.push(now);
    this.adds++;
  }
}

/** Expired entries a window keeps before cutting them off (amortised: at most one copy per this many admissions). */
const COMPACT_AFTER = 1024;
