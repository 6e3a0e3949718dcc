/**
 * Group commit for calls to one Durable Object: while a call is on its way, the items that arrive wait and
 * then go together in the next call. An idle isolate sends each item at once (no timer, no added latency);
 * a busy one sends one call per round trip instead of one per request, and the object handles the whole
 * batch in one event (one storage commit). The object still applies the items one by one, in order, so a
 * limit it enforces stays exact.
 *
 * The call is made by whichever waiting caller of the batch wakes first, in its own request context. A
 * continuation runs in the context of the promise it awaits, so a caller never awaits a promise another
 * request made (its code would go on in that request's context, and lose its own I/O): it awaits a promise
 * derived from it in its own context instead, which the runtime resumes in the right context.
 *
 * The sender's context owns the call. Use this where callers cannot be cancelled while they wait (work in
 * ctx.waitUntil, say): a cancelled sender would fail the call for the whole batch.
 */
export class GroupCommit<I, R> {
  private pending: Batch<I, R> | undefined;
  private inFlight: Promise<unknown> | undefined;

  constructor(private readonly maxBatch: number) {}

  /** Nothing waiting and nothing on its way: the holder may drop this object. */
  get idle(): boolean {
    return !this.pending && !this.inFlight;
  }

  /** Sends `item` with `send` (now, or in the next batch) and resolves with its own result. */
  async add(item: I, send: (items: I[]) => Promise<R[]>): Promise<R> {
    let batch = this.pending;
    if (!batch || batch.items.length >= this.maxBatch) batch = this.pending = { items: [], done: undefined };
    const index = batch.items.push(item) - 1;
    while (!batch.done && this.inFlight) await this.inFlight.catch(() => undefined);
    if (!batch.done) {
      if (this.pending === batch) this.pending = undefined;
      const done = (batch.done = send(batch.items));
      const flight = (this.inFlight = done.finally(() => {
        if (this.inFlight === flight) this.inFlight = undefined;
      }));
      flight.catch(() => undefined); // the callers see the failure through batch.done
    }
    return (await batch.done.then(own))[index]!;
  }
}

/** A `then` that passes the value on: the promise it returns belongs to the caller's context. */
const own = <T>(value: T) => value;

interface Batch<I, R> {
  items: I[];
  done: Promise<R[]> | undefined;
}

/** One GroupCommit per key (a tenant's object, say), made on first use and dropped again when idle. */
export class GroupCommits<I, R> {
  private readonly byKey = new Map<string, GroupCommit<I, R>>();

  async add(key: string, maxBatch: number, item: I, send: (items: I[]) => Promise<R[]>): Promise<R> {
    let commit = this.byKey.get(key);
    if (!commit) this.byKey.set(key, (commit = new GroupCommit(maxBatch)));
    try {
      return await commit.add(item, send);
    } finally {
      if (commit.idle && this.byKey.get(key) === commit) this.byKey.delete(key);
    }
  }
}
