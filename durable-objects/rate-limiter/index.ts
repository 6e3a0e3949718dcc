/**
 * One RateLimiterDO per tenant holds every counter for that tenant and its keys. A Durable Object runs one
 * call at a time and reserve() never awaits, so check-and-reserve is atomic: under any concurrency no more
 * than the limit is admitted. Windows and leases live in memory (they are about the last minute and the
 * requests in flight); the daily token total is persisted because it outlives an eviction.
 */
import { DurableObject } from "cloudflare:workers";
import { msToNextUtcDay, utcDay } from "../../lib/time.js";
import { ReserveRequestSchema, SlidingWindow, type Reservation, type ReserveRequest } from "./limits.js";

interface Lease {
  keyId: string;
  expires: number;
}

export class RateLimiterDO extends DurableObject<object> {
  private windows = new Map<string, SlidingWindow>();
  private leases = new Map<string, Lease>();
  private seq = 0;

  constructor(ctx: DurableObjectState, env: object) {
    super(ctx, env);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS budget (day TEXT PRIMARY KEY, tokens INTEGER NOT NULL)");
  }

  reserve(raw: ReserveRequest, now = Date.now()): Reservation {
    const r = ReserveRequestSchema.parse(raw);
    this.expireLeases(now);
    const keyWin = this.window(`key:${r.keyId}`);
    const tenantWin = this.window("tenant");
    if (r.dailyTokenBudget !== null && this.tokensOn(utcDay(now)) >= r.dailyTokenBudget) {
      return { ok: false, reason: "daily_token_budget", retryAfterMs: msToNextUtcDay(now), limit: r.dailyTokenBudget };
    }
    if (keyWin.count(now) >= r.keyRpm) {
      return { ok: false, reason: "key_rpm", retryAfterMs: keyWin.retryAfter(now), limit: r.keyRpm };
    }
    if (tenantWin.count(now) >= r.tenantRpm) {
      return { ok: false, reason: "tenant_rpm", retryAfterMs: tenantWin.retryAfter(now), limit: r.tenantRpm };
    }
    const [keyInFlight, tenantInFlight] = this.inFlight(r.keyId);
    if (keyInFlight >= r.keyConcurrency) {
      return { ok: false, reason: "key_concurrency", retryAfterMs: 1000, limit: r.keyConcurrency };
    }
    if (tenantInFlight >= r.tenantConcurrency) {
      return { ok: false, reason: "tenant_concurrency", retryAfterMs: 1000, limit: r.tenantConcurrency };
    }
    keyWin.add(now);
    tenantWin.add(now);
    const leaseId = `${now.toString(36)}-${(this.seq++).toString(36)}`;
    this.leases.set(leaseId, { keyId: r.keyId, expires: now + r.leaseTtlMs });
    const remaining = r.keyRpm - keyWin.count(now);
    return { ok: true, leaseId, limit: r.keyRpm, remaining, resetMs: keyWin.retryAfter(now) };
  }

  release(leaseId: string): boolean {
    return this.leases.delete(leaseId);
  }

  addTokens(tokens: number, day: string): number {
    const row = this.ctx.storage.sql
      .exec<{ tokens: number }>(
        "INSERT INTO budget (day, tokens) VALUES (?, ?) ON CONFLICT(day) DO UPDATE SET tokens = tokens + excluded.tokens RETURNING tokens",
        day,
        tokens,
      )
      .one();
    // Yesterday's totals are of no further use to the limiter (D1 keeps the usage history).
    this.ctx.storage.sql.exec("DELETE FROM budget WHERE day < ?", day);
    return row.tokens;
  }

  /** Counters for tests and health checks. */
  snapshot(keyId: string, now = Date.now()) {
    this.expireLeases(now);
    const [keyInFlight, tenantInFlight] = this.inFlight(keyId);
    return {
      keyInFlight,
      tenantInFlight,
      keyLastMinute: this.window(`key:${keyId}`).count(now),
      tenantLastMinute: this.window("tenant").count(now),
      tokensToday: this.tokensOn(utcDay(now)),
    };
  }

  private window(name: string): SlidingWindow {
    let w = this.windows.get(name);
    if (!w) this.windows.set(name, (w = new SlidingWindow()));
    return w;
  }

  private inFlight(keyId: string): [number, number] {
    let key = 0;
    for (const l of this.leases.values()) if (l.keyId === keyId) key++;
    return [key, this.leases.size];
  }

  private expireLeases(now: number) {
    for (const [id, l] of this.leases) if (l.expires <= now) this.leases.delete(id);
  }

  private tokensOn(day: string): number {
    const rows = this.ctx.storage.sql.exec<{ tokens: number }>("SELECT tokens FROM budget WHERE day = ?", day).toArray();
    return rows[0]?.tokens ?? 0;
  }
}
