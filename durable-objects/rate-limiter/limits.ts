import { z } from "zod";
import { AdmissionLimitsSchema } from "../../lib/protocol/session.js";

/** What the gateway asks for on every request; the limits come from the key, the tenant and the defaults. */
export const ReserveRequestSchema = AdmissionLimitsSchema.extend({ keyId: z.string() });
export type ReserveRequest = z.infer<typeof ReserveRequestSchema>;

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
  }
}

/** Expired entries a window keeps before cutting them off (amortised: at most one copy per this many admissions). */
const COMPACT_AFTER = 1024;
