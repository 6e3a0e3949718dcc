/**
 * Binance's "not now", remembered. After a 429 or 418 with Retry-After, no call goes to Binance until that
 * wait has passed: Binance bans an IP that keeps calling after 429s (418, from two minutes up to three
 * days), and the next call may come a moment later from anyone (another tenant, technical-analysis over
 * its binding, the trading cron's scan each minute), none of which the dispatcher's per-tenant breaker
 * sees. Each is answered rate_limited with the wait left instead.
 *
 * Per isolate: Binance counts per egress IP, which many isolates (and Workers) share, so one isolate's
 * 429 does not stop the others; sharing the wait among them (a Durable Object, or KV) is out of scope here.
 */
import { describeWait } from "../../../../lib/tools/retry-after.js";
import { ToolFailure } from "../../../../lib/tools/tool-entrypoint.js";

export class RateLimitHold {
  private until = 0;
  private reason = "";

  /** `now` is the clock, for tests; Workers move Date.now() on each I/O, so it is current between calls. */
  constructor(private readonly now: () => number = () => Date.now()) {}

  /** Remembers a wait Binance named, with what it said; the later of two waits wins. */
  hold(waitMs: number, reason: string): void {
    const until = this.now() + waitMs;
    if (until <= this.until) return;
    this.until = until;
    this.reason = reason;
  }

  /** The failure to answer instead of calling Binance while a wait lasts, or null once it has passed. */
  refusal(): ToolFailure | null {
    const left = this.until - this.now();
    if (left <= 0) return null;
    const message = `${this.reason}; ${describeWait(left)} (Binance is not called again until then)`;
    return new ToolFailure("rate_limited", message, false, left);
  }

  /** Forgets the wait: for tests, which share one isolate's hold. */
  clear(): void {
    this.until = 0;
  }
}

/** The isolate's one hold: every BinanceClient checks it before calling. */
export const binanceHold = new RateLimitHold();
