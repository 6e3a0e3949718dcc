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

/** A sliding one-minute log of admission times: exact, unlike fixed windows that admit 2x at the edge. */
export class SlidingWindow {
  private times: number[] = [];

  count(now: number): number {
    const cutoff = now - WINDOW_MS;
    let drop = 0;
    while (drop < this.times.length && this.times[drop]! <= cutoff) drop++;
    if (drop) this.times.splice(0, drop);
    return this.times.length;
  }

  /** Milliseconds until the oldest admission leaves the window. */
  retryAfter(now: number): number {
    const oldest = this.times[0];
    return oldest === undefined ? 0 : Math.max(1, oldest + WINDOW_MS - now);
  }

  add(now: number) {
    this.times.push(now);
  }
}
