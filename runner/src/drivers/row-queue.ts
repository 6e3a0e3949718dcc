/**
 * Bridges a push-based row source (events) to the pull-based QueryStream: it pauses the source when
 * `highWater` rows are waiting and resumes it when the consumer takes them.
 */
export class RowQueue {
  private rows: unknown[][] = [];
  private error: unknown = null;
  private waiter: (() => void) | null = null;
  private paused = false;
  private discarding = false;
  /** Rows a waiting take asks for: the source runs on until they are there, not paused and resumed per row. */
  private wanted = 0;
  ended = false;
  private readonly highWater: number;
  private readonly pause: () => void;
  private readonly resume: () => void;

  constructor(highWater: number, pause: () => void, resume: () => void) {
    this.highWater = highWater;
    this.pause = pause;
    this.resume = resume;
  }

  push(row: unknown[]) {
    if (this.discarding) return;
    this.rows.push(row);
    if (!this.paused && this.rows.length >= Math.max(this.highWater, this.wanted)) {
      this.paused = true;
      this.pause();
    }
    this.wake();
  }

  end() {
    this.ended = true;
    this.wake();
  }

  fail(err: unknown) {
    this.error ??= err;
    this.ended = true;
    this.wake();
  }

  /**
   * The consumer has stopped: drop what waits and let the source run to its end unpaused. A paused source
   * cannot finish, and a cancel's acknowledgement arrives behind the rows still on the wire.
   */
  discard() {
    this.discarding = true;
    this.rows = [];
    if (this.paused) {
      this.paused = false;
      this.resume();
    }
  }

  async take(n: number): Promise<unknown[][] | null> {
    this.wanted = n;
    while (this.rows.length < n && !this.ended) {
      if (this.paused) {
        this.paused = false;
        this.resume();
      }
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
    this.wanted = 0;
    if (this.error) throw this.error;
    const batch = this.rows.splice(0, n);
    return batch.length ? batch : null;
  }

  private wake() {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }
}
