/**
 * Open WebSockets per session of one tenant, kept in the tenant's RateLimiterDO so a per-tenant limit can
 * be checked in one place. Sessions report their exact count whenever it changes (and on their alarm), so
 * a count that drifted (a session evicted without closing its sockets) is corrected by the next report.
 */
export class SocketCounts {
  constructor(private readonly sql: SqlStorage) {
    sql.exec("CREATE TABLE IF NOT EXISTS socket_counts (session_id TEXT PRIMARY KEY, open INTEGER NOT NULL)");
  }

  total(): number {
    return this.sql.exec<{ n: number | null }>("SELECT SUM(open) AS n FROM socket_counts").one().n ?? 0;
  }

  /** Reserves one socket for the session if the tenant is under `limit`. */
  admit(sessionId: string, limit: number): { ok: boolean; open: number } {
    const open = this.total();
    if (open >= limit) return { ok: false, open };
    this.sql.exec(
      "INSERT INTO socket_counts (session_id, open) VALUES (?, 1) ON CONFLICT (session_id) DO UPDATE SET open = open + 1",
      sessionId,
    );
    return { ok: true, open: open + 1 };
  }

  report(sessionId: string, open: number) {
    if (open <= 0) this.sql.exec("DELETE FROM socket_counts WHERE session_id = ?", sessionId);
    else this.sql.exec("INSERT OR REPLACE INTO socket_counts (session_id, open) VALUES (?, ?)", sessionId, open);
  }
}
