/**
 * Tool calls wait in the isolate for CIO_LEARNING_FLUSH_MS and are then written in one D1 batch for all
 * the answers of that window. Why: a write per answer is the largest cost an answer leaves behind (drizzle
 * building, the D1 round trip, SQLite's commit), and written at once it competes with the answer it
 * belongs to while that answer is still on its way out; under load it would also be one D1 write per
 * request. The answer that opens a window hands the flush to its own waitUntil, so the runtime keeps it
 * alive until the batch is written; later answers of the window just add their calls (no promise crosses
 * requests). Trade-off: a tool call reaches D1 up to CIO_LEARNING_FLUSH_MS later; feedback accounts for it.
 */
import type { Logger } from "../../../../lib/log.js";
import { sleep } from "../../../../lib/time.js";
import type { OrchestratorSettings } from "../settings.js";
import { recordCalls, type RecordedCall } from "./record.js";

export interface QueueSettings {
  flushMs: number;
  maxBatch: number;
  alpha: number;
  log: Logger;
  /** Calls kept for a retry at most (tests lower it); HELD_MAX by default. */
  heldMax?: number;
}

export const queueSettings = (s: OrchestratorSettings, log: Logger): QueueSettings => ({
  flushMs: s.CIO_LEARNING_FLUSH_MS,
  maxBatch: s.CIO_LEARNING_BATCH_MAX,
  alpha: s.CIO_LEARNING_ALPHA,
  log,
});

/**
 * Calls a failed write puts back are kept up to this many (the oldest go first), so a D1 outage cannot fill
 * the isolate's memory; a call is about a hundred bytes.
 */
export const HELD_MAX = 10_000;
/** How long after a failed write the one window it opens waits, when windows are otherwise not waited for. */
const RETRY_MS = 1_000;

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
  if (s.flushMs === 0 || q.calls.length >= s.maxBatch) return flushCalls(d1, s);
  if (q.scheduled) return undefined;
  return openWindow(d1, q, s.flushMs, s, true);
}

function openWindow(d1: D1Database, q: Queue, ms: number, s: QueueSettings, retry: boolean): Promise<void> {
  q.scheduled = sleep(ms).then(() => {
    q.scheduled = undefined;
    return flushCalls(d1, s, retry);
  });
  return q.scheduled;
}

/**
 * Writes what this isolate has queued now (feedback calls it so a rating can find a call made just before).
 * A write that fails wrote nothing (a D1 batch is one transaction), so its calls go back to the front of the
 * queue, and a write that was not itself a retry opens one new window for them, inside the same promise so
 * the failed write's waitUntil keeps it alive. A retry that fails too leaves them for the next window.
 */
export function flushCalls(d1: D1Database, s: QueueSettings, retry = true): Promise<void> {
  const q = queueOf(d1);
  const calls = q.calls.splice(0);
  return recordCalls(d1, calls, s.alpha).catch((err: unknown) => {
    putBack(q, calls, s);
    if (!retry || q.scheduled) throw err;
    s.log.warn("tool calls could not be recorded; they are written with the next window", { err, calls: calls.length });
    return openWindow(d1, q, s.flushMs || RETRY_MS, s, false);
  });
}

/** Whether this isolate still holds calls of the tenant's answer (its write failed and waits for a retry). */
export const holdsAnswer = (d1: D1Database, tenantId: string, requestId: string) => queueOf(d1).calls.some((c) => c.tenantId === tenantId && c.requestId === requestId);

function putBack(q: Queue, calls: RecordedCall[], { log, heldMax = HELD_MAX }: QueueSettings) {
  q.calls.unshift(...calls);
  const over = q.calls.length - heldMax;
  if (over > 0) {
    q.calls.splice(0, over);
    log.error("tool calls dropped: too many are waiting for a failed write to be retried", { dropped: over, held: heldMax });
  }
}
