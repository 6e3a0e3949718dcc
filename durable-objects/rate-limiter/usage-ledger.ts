/**
 * The tenant's token usage, kept in its Durable Object's SQLite and flushed to D1 in batches by an alarm.
 * A D1 write per answered request would put a network round trip and a write on every request's path;
 * here answers are added up in memory and committed to SQLite together (`commit`, a few milliseconds later):
 * one storage commit per answer was a fifth of a passthrough request's CPU time (bench/suites/passthrough.ts).
 * The object is the only writer of its tenant's usage rows and flushes absolute totals, so a flush that is
 * repeated after a crash changes nothing.
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

type Pending = Pick<LedgerRow, "day" | "model" | "requests" | "prompt_tokens" | "completion_tokens">;

export class UsageLedger {
  /** The object is the only writer of these tables, so what they hold can be kept in memory once read. */
  private tenant: string | undefined | null = null;
  private total: { day: string; tokens: number } | undefined;
  /** Usage added since the last commit, by day and model. */
  private pending = new Map<string, Pending>();

  constructor(
    private readonly sql: SqlStorage,
    private readonly storage: Pick<DurableObjectStorage, "transactionSync">,
  ) {
    sql.exec(`CREATE TABLE IF NOT EXISTS usage (
      day TEXT NOT NULL, model TEXT NOT NULL,
      requests INTEGER NOT NULL, prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL,
      version INTEGER NOT NULL, flushed_version INTEGER NOT NULL DEFAULT 0,
      PRIMARY KEY (day, model))`);
    sql.exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
  }

  /** Counts an answer at once (the budget sees it); it reaches SQLite with the next `commit`. */
  add(day: string, model: string, u: Usage) {
    const k = `${day}\n${model}`;
    const p = this.pending.get(k) ?? { day, model, requests: 0, prompt_tokens: 0, completion_tokens: 0 };
    p.requests++;
    p.prompt_tokens += u.prompt_tokens;
    p.completion_tokens += u.completion_tokens;
    this.pending.set(k, p);
    if (this.total?.day === day) this.total.tokens += u.prompt_tokens + u.completion_tokens;
  }

  /** Whether usage waits for a commit. */
  get uncommitted(): boolean {
    return this.pending.size > 0;
  }

  /**
   * Writes what was added since the last commit, in one transaction: if it fails, nothing of it is written
   * and all of it stays pending for the next commit.
   */
  commit() {
    if (!this.pending.size) return;
    this.storage.transactionSync(() => {
      for (const p of this.pending.values()) {
        this.sql.exec(
          `INSERT INTO usage (day, model, requests, prompt_tokens, completion_tokens, version) VALUES (?, ?, ?, ?, ?, 1)
           ON CONFLICT(day, model) DO UPDATE SET requests = requests + excluded.requests, prompt_tokens = prompt_tokens + excluded.prompt_tokens,
           completion_tokens = completion_tokens + excluded.completion_tokens, version = version + 1`,
          p.day,
          p.model,
          p.requests,
          p.prompt_tokens,
          p.completion_tokens,
        );
      }
    });
    this.pending.clear();
  }

  /** Read on every admission when the tenant has a budget, so the day's total is kept in memory. */
  tokensOn(day: string): number {
    if (this.total?.day === day) return this.total.tokens;
    const row = this.sql.exec<{ n: number | null }>("SELECT SUM(prompt_tokens + completion_tokens) AS n FROM usage WHERE day = ?", day).one();
    let tokens = row.n ?? 0;
    for (const p of this.pending.values()) if (p.day === day) tokens += p.prompt_tokens + p.completion_tokens;
    this.total = { day, tokens };
    return tokens;
  }

  /** Committed rows changed since their last flush. */
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
