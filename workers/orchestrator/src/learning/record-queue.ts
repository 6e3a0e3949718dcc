/**
 * Tool calls wait in the isolate for CIO_LEARNING_FLUSH_MS and are then written in one D1 batch for all
 * the answers of that window. Why: a write per answer is the largest cost an answer leaves behind (drizzle
 * building, the D1 round trip, SQLite's commit), and written at once it competes with the answer it
 * belongs to while that answer is still on its way out; under load it would also be one D1 write per
 * request. The answer that opens a window hands the flush to its own waitUntil, so the runtime keeps it
 * alive until the batch is written; later answers of the window just add their calls (no promise crosses
 * requests). Trade-off: a tool call reaches D1 up to CIO_LEARNING_FLUSH_MS later; feedback accounts for it.
 */
import { recordCalls, type RecordedCall } from "./record.js";

export interface QueueSettings {
  flushMs: number;
  maxBatch: number;
  alpha: number;
}

interface Queue {
  calls: RecordedCall[];
  /** The pending timed flush, if a window is open. */
  scheduled?: Promise<void>;
}

const queues = new WeakMap<D1Database, Queue>();
const queueOf = (d1: D1Database) => queues.get(d1) ?? (queues.set(d1, { calls: [] }), queues.get(d1)!);

/** Queues an answer's calls; returns the write the caller must keep alive (waitUntil), if it owns one. */
export function queueCalls(d1: D1Database, calls: RecordedCall[], s: QueueSettings): Promise<void> | undefined {
  if (!calls.length) return undefined;
  const q = queueOf(d1);
  q.calls.push(...calls);
  if (s.flushMs === 0 || q.calls.length >= s.maxBatch) return flushCalls(d1, s.alpha);
  if (q.scheduled) return undefined;
  q.scheduled = new Promise<void>((resolve) => setTimeout(resolve, s.flushMs)).then(() => {
    q.scheduled = undefined;
    return flushCalls(d1, s.alpha);
  });
  return q.scheduled;
}

/** Writes what this isolate has queued now (feedback calls it so a rating can find a call made just before). */
export function flushCalls(d1: D1Database, alpha: number): Promise<void> {
  const q = queueOf(d1);
  return recordCalls(d1, q.calls.splice(0), alpha);
}
