/**
 * Keeps a session's event log from growing without bound. Every streamed piece of an answer is its own
 * `delta` row, and nothing else ever deleted one: a session of a thousand turns held hundreds of thousands of
 * rows, and `resume {after_seq: 0}` replayed them all in one synchronous step until the object was killed.
 *
 * Two rules, applied in bounded passes (the alarm runs one, and comes again at once while work is left):
 * - the deltas of a turn that ended (its `message` or `error` event is stored) more than the retention ago
 *   go: that event says what was said; a client back within the retention still gets them token by token.
 * - past the cap, the oldest events go, whatever their type, and the log's floor rises to the last seq
 *   dropped: a resume from before it is refused (`resume_too_old`), never served with a silent gap.
 * Seqs are never renumbered, so a resume stays exactly-once and in order for every event that remains.
 */

/** Rows one pass deletes at most: a few ms of work, however far behind the log is (an upgraded session). */
export const COMPACT_BATCH = 2000;

export interface CompactRules {
  now: number;
  deltaRetentionMs: number;
  maxEvents: number;
  batch?: number;
}

/** Runs one pass; returns whether it stopped at its batch with work left. */
export function compactLog(sql: SqlStorage, r: CompactRules): boolean {
  let budget = r.batch ?? COMPACT_BATCH;
  budget -= dropOldDeltas(sql, r.now - r.deltaRetentionMs, budget);
  if (budget > 0) budget -= dropPastCap(sql, r.maxEvents, budget);
  return budget <= 0;
}

/** When the next ended turn's deltas are due to go (ms), or null when no ended turn has any left. */
export function nextDeltaExpiry(sql: SqlStorage, deltaRetentionMs: number): number | null {
  const at = sql.exec<{ at: number | null }>("SELECT MIN(ended_at) AS at FROM turns WHERE compacted = 0 AND ended_at IS NOT NULL").one().at;
  return at === null ? null : at + deltaRetentionMs;
}

/** Highest seq the cap dropped: a resume must start at or after it. */
export function logFloor(sql: SqlStorage): number {
  return sql.exec<{ f: number }>("SELECT log_floor AS f FROM meta").toArray()[0]?.f ?? 0;
}

/** Deletes deltas of turns ended by `cutoff`, oldest turn first; a turn is marked once none of its are left. */
function dropOldDeltas(sql: SqlStorage, cutoff: number, budget: number): number {
  // Read first: the loop marks rows of this table.
  const ended = sql.exec<{ id: string }>("SELECT id FROM turns WHERE compacted = 0 AND ended_at <= ? ORDER BY ended_at LIMIT ?", cutoff, budget).toArray();
  let dropped = 0;
  for (const { id } of ended) {
    // Uses the partial index on the delta's turn id (store.ts): no scan of the log per turn.
    const gone = sql
      .exec("DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE type = 'delta' AND json_extract(data, '$.id') = ? LIMIT ?) RETURNING seq", id, budget - dropped)
      .toArray().length;
    dropped += gone;
    if (dropped >= budget) break;
    sql.exec("UPDATE turns SET compacted = 1 WHERE id = ?", id);
  }
  return dropped;
}

/** Deletes the oldest events beyond the newest `max`, and raises the floor to the last one deleted. */
function dropPastCap(sql: SqlStorage, max: number, budget: number): number {
  const cut = sql.exec<{ seq: number }>("SELECT seq FROM events ORDER BY seq DESC LIMIT 1 OFFSET ?", max).toArray()[0]?.seq;
  if (cut === undefined) return 0;
  const gone = sql
    .exec<{ seq: number }>("DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE seq <= ? ORDER BY seq LIMIT ?) RETURNING seq", cut, budget)
    .toArray();
  const top = Math.max(...gone.map((g) => g.seq));
  sql.exec("UPDATE meta SET log_floor = MAX(log_floor, ?)", top);
  return gone.length;
}
