/**
 * Credit-based flow control for one query: at most `limit` rows chunks may be unacknowledged. `acquire`
 * waits for a free credit; the hub's `ack` frames return credits; `abort` wakes every waiter with an error
 * so a cancelled or timed-out query never hangs on a hub that stopped acking.
 */
export class CreditWindow {
  readonly limit: number;
  private inFlight = 0;
  private maxSeen = 0;
  private waiters: { resolve: () => void; reject: (err: unknown) => void }[] = [];
  private aborted: unknown = null;

  constructor(limit: number) {
    this.limit = limit;
  }

  /** The most chunks that were ever unacknowledged at once (tests assert it never exceeds `limit`). */
  get peak(): number {
    return this.maxSeen;
  }

  get unacked(): number {
    return this.inFlight;
  }

  async acquire(): Promise<void> {
    while (this.inFlight >= this.limit) {
      if (this.aborted) throw this.aborted;
      await new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    }
    if (this.aborted) throw this.aborted;
    this.inFlight++;
    this.maxSeen = Math.max(this.maxSeen, this.inFlight);
  }

  /** Returns `n` credits; a hub that acks more than it was sent cannot push the window past `limit`. */
  release(n: number) {
    this.inFlight = Math.max(0, this.inFlight - n);
    this.wake((w) => w.resolve());
  }

  abort(err: unknown) {
    this.aborted ??= err;
    this.wake((w) => w.reject(err));
  }

  private wake(fn: (w: { resolve: () => void; reject: (err: unknown) => void }) => void) {
    const waiters = this.waiters;
    this.waiters = [];
    waiters.forEach(fn);
  }
}
