/**
 * The leases (requests in flight) that outlast an alarm period, kept in the object's SQLite so that they
 * survive an eviction. An object with a long answer in flight and no other call is idle, and the runtime may
 * evict it before that answer settles: with leases only in memory it then forgot the slot, and admitted one
 * request more than the concurrency limit for as long as the answer ran. Writing every lease would cost a
 * storage commit per request; the alarm, and the object's residency timer when the last admission leaves the
 * window, write the ones in flight at that moment instead, and only those are deleted again when they end.
 * Until then the timer keeps the object from hibernating (residency.ts); a restart of the object forgets only
 * the leases of the last CIO_USAGE_FLUSH_MS.
 */
export interface Lease {
  keyId: string;
  expires: number;
}

export class LeaseStore {
  /** Lease ids that have a row. */
  private stored = new Set<string>();

  constructor(private readonly sql: SqlStorage) {
    sql.exec("CREATE TABLE IF NOT EXISTS leases (id TEXT PRIMARY KEY, key_id TEXT NOT NULL, expires INTEGER NOT NULL)");
  }

  /** The leases an earlier life of the object wrote and that have not expired. */
  load(now: number): Map<string, Lease> {
    this.sql.exec("DELETE FROM leases WHERE expires <= ?", now);
    const rows = this.sql.exec<{ id: string; key_id: string; expires: number }>("SELECT id, key_id, expires FROM leases").toArray();
    for (const r of rows) this.stored.add(r.id);
    return new Map(rows.map((r) => [r.id, { keyId: r.key_id, expires: r.expires }]));
  }

  /** Writes the leases in flight that have no row yet. */
  save(leases: Map<string, Lease>) {
    for (const [id, l] of leases) {
      if (this.stored.has(id)) continue;
      this.sql.exec("INSERT OR REPLACE INTO leases (id, key_id, expires) VALUES (?, ?, ?)", id, l.keyId, l.expires);
      this.stored.add(id);
    }
  }

  /** A lease ended (settled, released or expired): its row, if it has one, goes. */
  forget(id: string) {
    if (!this.stored.delete(id)) return;
    this.sql.exec("DELETE FROM leases WHERE id = ?", id);
  }
}
