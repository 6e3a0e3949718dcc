/**
 * The per-minute windows, kept in the object's SQLite as admissions per second so that a restart of the object
 * does not forget them: a deploy or a runtime restart resets an object whatever it is doing, and with windows
 * only in memory a tenant that had used its minute was given a second one at once. Writing on every admission
 * would cost a storage commit per request; the alarm (and the object's residency timer, residency.ts) writes the
 * windows that changed, so a restart forgets only the admissions since the last write, at most
 * CIO_USAGE_FLUSH_MS old. Idle hibernation and eviction never drop a window that still counts: see residency.ts.
 */
import { SlidingWindow } from "./limits.js";

export class WindowStore {
  /** Each window's `version` when its row was last written. */
  private written = new Map<string, number>();

  constructor(private readonly sql: SqlStorage) {
    sql.exec("CREATE TABLE IF NOT EXISTS windows (name TEXT PRIMARY KEY, seconds TEXT NOT NULL)");
  }

  /** The windows an earlier life of the object wrote that still count admissions; the rest are deleted. */
  load(now: number): Map<string, SlidingWindow> {
    const windows = new Map<string, SlidingWindow>();
    const rows = this.sql.exec<{ name: string; seconds: string }>("SELECT name, seconds FROM windows").toArray();
    for (const r of rows) {
      const w = SlidingWindow.fromSeconds(JSON.parse(r.seconds) as [number, number][], now);
      if (!w.count(now)) {
        this.sql.exec("DELETE FROM windows WHERE name = ?", r.name);
        continue;
      }
      windows.set(r.name, w);
      this.written.set(r.name, w.version);
    }
    return windows;
  }

  /** Writes the windows that took admissions since their last write (one row each, at most 60 pairs). */
  save(windows: Map<string, SlidingWindow>, now: number) {
    for (const [name, w] of windows) {
      if (this.written.get(name) === w.version) continue;
      const seconds = w.perSecond(now);
      if (seconds.length) this.sql.exec("INSERT OR REPLACE INTO windows (name, seconds) VALUES (?, ?)", name, JSON.stringify(seconds));
      else this.sql.exec("DELETE FROM windows WHERE name = ?", name);
      this.written.set(name, w.version);
    }
  }
}
