/**
 * The hub's record of its runner connections, in the object's SQLite so it survives hibernation: one row
 * per socket, filled in by the runner's hello. The sockets themselves come back from ctx.getWebSockets().
 */
import type { HelloFrame } from "../../lib/protocol/runner.js";

export interface ConnectionRow {
  id: string;
  tokenId: string;
  connectedAt: number;
  hello: HelloFrame | null;
}

interface Row extends Record<string, SqlStorageValue> {
  id: string;
  token_id: string;
  connected_at: number;
  hello: string | null;
}

export class ConnectionTable {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(`CREATE TABLE IF NOT EXISTS runner_connections (
      id TEXT PRIMARY KEY, token_id TEXT NOT NULL, connected_at INTEGER NOT NULL, hello TEXT)`);
    sql.exec("CREATE TABLE IF NOT EXISTS runner_last_seen (k INTEGER PRIMARY KEY CHECK (k = 1), at INTEGER NOT NULL, hello TEXT)");
  }

  /** What the pool looked like when its last runner left, so an offline runner still shows when it was seen. */
  remember(at: number, hello: HelloFrame | null) {
    this.sql.exec("INSERT OR REPLACE INTO runner_last_seen (k, at, hello) VALUES (1, ?, ?)", at, hello ? JSON.stringify(hello) : null);
  }

  lastSeen(): { at: number; hello: HelloFrame | null } | undefined {
    const r = this.sql.exec<{ at: number; hello: string | null }>("SELECT at, hello FROM runner_last_seen").toArray()[0];
    return r && { at: r.at, hello: r.hello ? (JSON.parse(r.hello) as HelloFrame) : null };
  }

  add(id: string, tokenId: string, connectedAt: number) {
    this.sql.exec("INSERT OR REPLACE INTO runner_connections (id, token_id, connected_at) VALUES (?, ?, ?)", id, tokenId, connectedAt);
  }

  setHello(id: string, hello: HelloFrame) {
    this.sql.exec("UPDATE runner_connections SET hello = ? WHERE id = ?", JSON.stringify(hello), id);
  }

  remove(id: string) {
    this.sql.exec("DELETE FROM runner_connections WHERE id = ?", id);
  }

  /** Drops rows whose socket is gone (the object restarted, which closes every socket). */
  keepOnly(ids: ReadonlySet<string>) {
    for (const r of this.all()) if (!ids.has(r.id)) this.remove(r.id);
  }

  get(id: string): ConnectionRow | undefined {
    const r = this.sql.exec<Row>("SELECT * FROM runner_connections WHERE id = ?", id).toArray()[0];
    return r && toRow(r);
  }

  all(): ConnectionRow[] {
    return this.sql.exec<Row>("SELECT * FROM runner_connections ORDER BY connected_at").toArray().map(toRow);
  }
}

const toRow = (r: Row): ConnectionRow => ({
  id: r.id,
  tokenId: r.token_id,
  connectedAt: r.connected_at,
  hello: r.hello ? (JSON.parse(r.hello) as HelloFrame) : null,
});
