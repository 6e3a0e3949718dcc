/**
 * Keeps a Durable Object in memory until a deadline by keeping a timer pending. The runtime hibernates an idle
 * object, dropping its memory, after about 10 s, but only one with no timer pending; one that cannot hibernate
 * is evicted only after 70 to 140 s without a request (Durable Object lifecycle). The limiter holds itself
 * until its last admission has left the window: without that, an object idle for 10 s forgot its windows and
 * the leases admitted since its alarm (CIO_USAGE_FLUSH_MS after an admission), so it admitted another
 * minute's worth, or a request past the concurrency limit while a long answer ran.
 *
 * The timer fires at the deadline or after `maxStepMs`, whichever is first, and calls `onFire` (which writes
 * what must outlive the object: the leases still in flight), then is set again while the deadline, which may
 * have moved, is ahead. One timer a minute costs nothing per request.
 */
export class Residency {
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly until: () => number,
    private readonly onFire: () => Promise<void>,
    private readonly maxStepMs: number,
  ) {}

  /** Keeps the object until `until()`; free when it is kept already. */
  hold() {
    if (this.timer !== undefined) return;
    const left = this.until() - Date.now();
    this.timer = setTimeout(() => void this.fire(), Math.min(Math.max(left, 0), this.maxStepMs));
  }

  private async fire() {
    // Still pending while `onFire` runs: an object let go before its writes are durable could lose them.
    await this.onFire();
    this.timer = undefined;
    if (this.until() > Date.now()) this.hold();
  }
}
