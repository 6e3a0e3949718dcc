/**
 * The tenant's token usage, kept in its Durable Object's SQLite and flushed to D1 in batches by an alarm.
 * A D1 write per answered request would put a network round trip and a write on every request's path;
 * here an answer costs one local SQLite upsert. The object is the only writer of its tenant's usage rows
 * and flushes absolute totals, so a flush that is repeated after a crash changes nothing.
 */
import type { Usage } from "../../lib/protocol/index.js";

export type LedgerRow = {
  day: string;
  model: string;
  requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  version: number;
};

export class UsageLedger {
  /** The object is the only writer of these tables, so what they hold can be kept in memory once read. */
  private tenant: string | undefined | null = null;
  private total: { day: string; tokens: number } | undefined;

  constructor(private readonly sql: SqlStorage) {
    sql.exec(`CREATE TABLE IF NOT EXISTS usage (
      day TEXT NOT NULL, model TEXT NOT NULL,
      requests INTEGER NOT NULL, prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL,
      version INTEGER NOT NULL, flushed_version INTEGER NOT NULL DEFAULT 0,
      PRIMARY KEY (day, model))`);
    sql.exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
  }

  add(day: string, model: string, u: Usage) {
    this.sql.exec(
      `INSERT INTO usage (day, model, requests, prompt_tokens, completion_tokens, version) VALUES (?, ?, 1, ?, ?, 1)
       ON CONFLICT(day, model) DO UPDATE SET requests = requests + 1, prompt_tokens = prompt_tokens + excluded.prompt_tokens,
       completion_tokens = completion_tokens + excluded.completion_tokens, version = version + 1`,
      day,
      model,
      u.prompt_tokens,
      u.completion_tokens,
    );
    if (this.total?.day === day) this.total.tokens += u.prompt_tokens + u.completion_tokens;
  }

  /** Read on every admission when the tenant has a budget, so the day's total is kept in memory. */
  tokensOn(day: string): number {
    if (this.total?.day === day) return this.total.tokens;
    const row = this.sql.exec<{ n: number | null }>("SELECT SUM(prompt_tokens + completion_tokens) AS n FROM usage WHERE day = ?", day).one();
    this.total = { day, tokens: row.n ?? 0 };
    return this.total.tokens;
  }

  /** Rows changed since their last flush. */
  unflushed(): LedgerRow[] {
    return this.sql
      .exec<LedgerRow>("SELECT day, model, requests, prompt_tokens, completion_tokens, version FROM usage WHERE version > flushed_version")
      .toArray();
  }

  markFlushed(rows: LedgerRow[]) {
    for (const r of rows) this.sql.exec("UPDATE usage SET flushed_version = ? WHERE day = ? AND model = ?", r.version, r.day, r.model);
  }

  /** Flushed rows of past days are D1's to keep; the object only needs today's for the budget. */
  prune(beforeDay: string) {
    this.sql.exec("DELETE FROM usage WHERE day < ? AND version = flushed_version", beforeDay);
    if (this.total && this.total.day < beforeDay) this.total = undefined;
  }

  get tenantId(): string | undefined {
    if (this.tenant === null) this.tenant = this.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'tenant_id'").toArray()[0]?.value;
    return this.tenant;
  }

  /** The first id booked stays (an object belongs to one tenant); later calls cost nothing. */
  set tenantId(id: string) {
    if (this.tenantId !== undefined) return;
    this.sql.exec("INSERT OR IGNORE INTO meta (key, value) VALUES ('tenant_id', ?)", id);
    this.tenant = id;
  }
}
