/**
 * One RateLimiterDO per tenant holds every counter for that tenant and its keys. A Durable Object runs one
 * call at a time and the check-and-reserve (`admit`) never awaits, so it is atomic: under any concurrency no
 * more than the limit is admitted. Windows and leases are used from memory (they are about the last minute and
 * the requests in flight) and written to the object's SQLite by its alarm, not per request; until the last
 * admission has left the window the object stays in memory (residency.ts). Token usage is persisted in
 * the object's SQLite and flushed to D1 by the same alarm.
 */
import { DurableObject } from "cloudflare:workers";
import { z } from "zod";
import { Logger } from "../../lib/log.js";
import { UsageSchema } from "../../lib/protocol/index.js";
import { msToNextUtcDay, utcDay } from "../../lib/time.js";
import { BeginWorkSchema, ReserveRequestSchema, SlidingWindow, WINDOW_MS, type BeginWork, type Reservation, type ReserveRequest } from "./limits.js";
import { flushToD1, limiterSettings, type LimiterEnv, type LimiterSettings } from "./flush.js";
import { UsageLedger } from "./usage-ledger.js";
import { LeaseStore, type Lease } from "./lease-store.js";
import { SocketCounts } from "./socket-counts.js";
import { WindowStore } from "./window-store.js";
import { Residency } from "./residency.js";
import { TokenHolds } from "./token-holds.js";

/** What the orchestrator books when a call ends; usage comes from upstreams, so it is checked, not trusted. */
export const SettlementSchema = z.object({ tenantId: z.string().min(1), model: z.string(), usage: UsageSchema.optional() });
export type Settlement = z.input<typeof SettlementSchema>;

/**
 * Reservations that may wait for a slot at once; more are refused straight away. Every ended lease wakes every
 * waiter, so this bounds that work when a client floods far past its limit.
 */
const MAX_SLOT_WAITERS = 256;

export class RateLimiterDO extends DurableObject<LimiterEnv> {
  private windows: Map<string, SlidingWindow>;
  private windowStore: WindowStore;
  private leases: Map<string, Lease>;
  private leaseStore: LeaseStore;
  /** Keeps the object in memory while its windows count an admission or tokens are held (residency.ts). */
  private residency: Residency;
  private holds = new TokenHolds();
  private ledger: UsageLedger;
  private sockets: SocketCounts;
  private seq = 0;
  /** Reservations waiting for a slot to free (see `reserve`); each lease that ends wakes them to try again. */
  private slotWaiters = new Set<() => void>();
  private alarmPending: boolean | undefined;
  private arming: Promise<void> | undefined;
  /** The commit that settlements waiting now share (see `committed`). */
  private nextCommit: Promise<void> | undefined;
  private readonly settings: LimiterSettings;

  constructor(ctx: DurableObjectState, env: LimiterEnv) {
    super(ctx, env);
    // Checked when the object starts, not at its first flush: a bad value found there stopped the flush.
    this.settings = limiterSettings(env);
    this.ledger = new UsageLedger(ctx.storage.sql, ctx.storage);
    this.sockets = new SocketCounts(ctx.storage.sql);
    this.leaseStore = new LeaseStore(ctx.storage.sql);
    this.leases = this.leaseStore.load(Date.now());
    // SQLite reads are synchronous: the state is back before the first call, with no blockConcurrencyWhile.
    this.windowStore = new WindowStore(ctx.storage.sql);
    this.windows = this.windowStore.load(Date.now());
    // Every step writes the leases admitted since the last: at most a minute after their admission, before
    // an object that cannot hibernate may be evicted.
    this.residency = new Residency(() => this.residentUntil(), () => this.persistDurably(), WINDOW_MS);
  }

  /**
   * Admits a request or says why not. A request refused only for concurrency waits up to CIO_SLOT_WAIT_MS for
   * a slot to free before the refusal stands: a slot frees when the orchestrator's settlement arrives, which
   * can be after the client has its answer and sent its next request (settlements travel from another
   * Worker, and are batched with CIO_SETTLE_BATCH_MS), so a client that keeps within its limit was refused.
   * Each try is the same synchronous check-and-add, so waiting never admits more than the limit.
   */
  async reserve(raw: ReserveRequest, now?: number): Promise<Reservation> {
    const r = ReserveRequestSchema.parse(raw);
    const started = Date.now();
    for (;;) {
      const res = this.admit(r, (now ?? started) + Date.now() - started);
      if (res.ok || (res.reason !== "key_concurrency" && res.reason !== "tenant_concurrency")) return res;
      const left = started + this.settings.CIO_SLOT_WAIT_MS - Date.now();
      if (left <= 0 || this.slotWaiters.size >= MAX_SLOT_WAITERS) return res;
      await this.slotFreed(left);
    }
  }

  private admit(r: ReserveRequest, now: number): Reservation {
    this.expireLeases(now);
    const keyWin = this.window(`key:${r.keyId}`);
    const tenantWin = this.window("tenant");
    if (r.dailyTokenBudget !== null && this.budgetSpent(r.dailyTokenBudget, now)) {
      return { ok: false, reason: "daily_token_budget", retryAfterMs: msToNextUtcDay(now), limit: r.dailyTokenBudget };
    }
    if (keyWin.count(now) >= r.keyRpm) {
      return { ok: false, reason: "key_rpm", retryAfterMs: keyWin.retryAfter(now, r.keyRpm), limit: r.keyRpm };
    }
    if (tenantWin.count(now) >= r.tenantRpm) {
      return { ok: false, reason: "tenant_rpm", retryAfterMs: tenantWin.retryAfter(now, r.tenantRpm), limit: r.tenantRpm };
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
    this.residency.hold();
    // The alarm writes the windows and the leases still in flight then; the reservation does not wait for it.
    if (!this.alarmPending) void this.scheduleFlush().catch((err) => this.log().error("alarm not set; windows and leases are not written", { err }));
    const remaining = r.keyRpm - keyWin.count(now);
    return { ok: true, leaseId, limit: r.keyRpm, remaining, resetMs: keyWin.retryAfter(now, r.keyRpm) };
  }

  release(leaseId: string): boolean {
    return this.endLease(leaseId);
  }

  /** The end of an answered request: frees its slot and books its tokens, in one call. */
  async settle(leaseId: string | null, raw: Settlement): Promise<void> {
    await this.settleMany([{ ...raw, leaseId }]);
  }

  /**
   * The ends of several requests, sent together by an orchestrator (workers/orchestrator/src/usage.ts). Every
   * slot is freed first (the calls did end); usage that is not sane is not booked (a string or a negative
   * count would corrupt the day's total and the budget, and a value SQLite cannot bind would fail the
   * booking), and is reported by a rejection once the others are booked and stored.
   */
  async settleMany(raw: (Settlement & { leaseId: string | null })[]): Promise<void> {
    for (const r of raw) if (typeof r?.leaseId === "string") this.endLease(r.leaseId);
    let booked = 0;
    const refused: string[] = [];
    for (const r of raw) {
      const s = SettlementSchema.safeParse(r);
      if (!s.success) refused.push(z.prettifyError(s.error));
      else if (s.data.usage) {
        this.ledger.tenantId = s.data.tenantId;
        this.ledger.add(utcDay(), s.data.model, s.data.usage);
        booked++;
      }
    }
    if (booked) await this.committed();
    if (refused.length) throw new Error(`${refused.length} of ${raw.length} settlements not booked: ${refused[0]}`);
  }

  /**
   * Resolves once the usage added so far is in storage: the settlements of the next CIO_USAGE_COMMIT_MS share
   * one commit (a group commit; calls into one object share its I/O, unlike requests in a Worker). A settle
   * still returns only when its usage is stored, and a failed commit fails every settlement it held, which
   * the callers log; the usage stays pending and the alarm (set whatever happened) commits it again.
   */
  private committed(): Promise<void> {
    return (this.nextCommit ??= new Promise<void>((resolve) => setTimeout(resolve, this.settings.CIO_USAGE_COMMIT_MS)).then(async () => {
      this.nextCommit = undefined;
      try {
        this.ledger.commit();
      } finally {
        await this.scheduleFlush();
      }
    }));
  }

  /**
   * Begins work whose tokens are known before it runs and are booked when it ends (an image task). Refused
   * (null) when the budget is spent, counting the work begun and not ended; else its tokens count against the
   * budget from now until `endWork` books what it used, or for `ttlMs` if that never comes.
   */
  beginWork(raw: BeginWork): string | null {
    const w = BeginWorkSchema.parse(raw);
    const now = Date.now();
    if (w.budget !== null && this.budgetSpent(w.budget, now)) return null;
    const id = this.holds.add(w.tokens, now + w.ttlMs);
    this.residency.hold();
    return id;
  }

  /** Ends work `beginWork` began: its hold goes, and what it used, if it got that far, is booked. */
  async endWork(holdId: string, used: Settlement | null): Promise<void> {
    this.holds.end(holdId);
    if (used) await this.settleMany([{ ...used, leaseId: null }]);
  }

  /** A session asks to open one more WebSocket; refused when the tenant already has `limit` open. */
  admitSocket(sessionId: string, limit: number): { ok: boolean; open: number } {
    return this.sockets.admit(sessionId, limit);
  }

  /** A session's exact count of open sockets, after any change. */
  reportSockets(sessionId: string, open: number): void {
    this.sockets.report(sessionId, open);
  }

  openSockets(): number {
    return this.sockets.total();
  }

  override async alarm(): Promise<void> {
    this.alarmPending = false;
    const log = this.log();
    this.expireLeases(Date.now());
    this.persist();
    try {
      this.ledger.commit();
      await flushToD1(this.env, this.ledger);
      this.ledger.prune(utcDay(Date.now() - 86_400_000));
    } catch (err) {
      log.error("usage flush to D1 failed; it stays pending and is retried", { err });
    }
    if (this.leases.size || this.ledger.uncommitted || this.ledger.unflushed().length) await this.scheduleFlush();
  }

  /**
   * Whether today's (UTC) tokens, with those held by work begun (`beginWork`), have reached `budget`: for
   * requests, and for work no request admits.
   */
  budgetSpent(budget: number, now = Date.now()): boolean {
    return this.ledger.tokensOn(utcDay(now)) + this.holds.total(now) >= budget;
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
      tokensToday: this.ledger.tokensOn(utcDay(now)),
      unflushed: this.ledger.unflushed().length,
    };
  }

  /** Writes the windows that changed and the leases in flight that have no row yet. */
  private persist() {
    this.leaseStore.save(this.leases);
    this.windowStore.save(this.windows, Date.now());
  }

  /** When the last admission leaves the window, or the last hold expires (holds are in memory only). */
  private residentUntil(): number {
    return Math.max((this.windows.get("tenant")?.newest() ?? 0) + WINDOW_MS, this.holds.latestExpiry());
  }

  /** What the residency timer does at each step: the leases in flight then outlive the object. */
  private async persistDurably() {
    try {
      this.persist();
      await this.ctx.storage.sync();
    } catch (err) {
      this.log().error("windows and leases not written; the alarm writes them", { err });
    }
  }

  /** Arms the alarm unless it is armed; calls while it is being armed share that. */
  private scheduleFlush(): Promise<void> {
    return (this.arming ??= this.armAlarm().finally(() => (this.arming = undefined)));
  }

  private async armAlarm() {
    this.alarmPending ??= (await this.ctx.storage.getAlarm()) !== null;
    if (this.alarmPending) return;
    await this.ctx.storage.setAlarm(Date.now() + this.settings.CIO_USAGE_FLUSH_MS);
    // Only once the alarm exists: marked before, a failed setAlarm left no alarm and every later settle
    // returned early, so usage never reached D1 again for the object's lifetime.
    this.alarmPending = true;
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
    for (const [id, l] of this.leases) if (l.expires <= now) this.endLease(id);
  }

  private endLease(id: string): boolean {
    this.leaseStore.forget(id);
    const ended = this.leases.delete(id);
    if (ended) for (const wake of this.slotWaiters) wake();
    return ended;
  }

  /** Resolves when a lease ends or after `ms`, whichever is first. */
  private slotFreed(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.slotWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.slotWaiters.add(done);
    });
  }

  private log() {
    return new Logger({ component: "rate-limiter", tenantId: this.ledger.tenantId });
  }
}
