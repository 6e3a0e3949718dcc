/**
 * The inside of a SessionDO: storage, sockets, turns and the alarm. Kept out of the Durable Object class
 * itself because every public method of that class is callable over RPC; only the deliberate surface is.
 */
import { limiterStub } from "../../lib/do-names.js";
import { Logger } from "../../lib/log.js";
import type { ChatCall, ChatReply } from "../../lib/protocol/index.js";
import { SessionRefSchema, type LoggedEvent, type NewEvent, type Session, type SessionRef } from "../../lib/protocol/session.js";
import { runChat } from "../../workers/orchestrator/src/chat.js";
import type { OrchestratorEnv } from "../../workers/orchestrator/src/env.js";
import { deleteIndexRow, insertIndexRow, touchIndexRow } from "./index-row.js";
import { KeyGuard } from "./key-guard.js";
import { sessionSettings, type SessionSettings } from "./settings.js";
import { Sockets } from "./sockets.js";
import { SessionStore, type SessionMeta } from "./store.js";
import { Turns, TurnStop } from "./turns.js";

/** How soon a deleted session asks its tenant's limiter again to drop its sockets from the tenant's count. */
const REPORT_RETRY_MS = 10_000;
/** How soon a compaction pass that threw is tried again. */
const COMPACT_RETRY_MS = 60_000;

export class SessionCore {
  readonly store: SessionStore;
  readonly sockets: Sockets;
  readonly turns: Turns;
  readonly keys: KeyGuard;
  readonly settings: SessionSettings;
  private alarmAt: number | null | undefined;
  /** The last compaction pass stopped at its batch: the alarm comes again at once for the rest. */
  private compactBacklog = false;
  /** A pass that threw is not tried again before this (ms): the alarm would otherwise fire in a loop. */
  private compactRetryAt = 0;

  constructor(
    readonly ctx: DurableObjectState,
    readonly env: OrchestratorEnv,
  ) {
    this.settings = sessionSettings(env);
    this.store = new SessionStore(ctx.storage);
    this.sockets = new Sockets(ctx);
    this.keys = new KeyGuard({
      db: env.DB,
      sockets: this.sockets,
      intervalMs: this.settings.CIO_SESSION_KEY_CHECK_S * 1000,
      tenantId: () => this.store.meta()?.tenantId,
      log: () => this.log(),
    });
    this.turns = new Turns({ store: this.store, log: this.log(), emit: (e) => this.emit(e), relay: (e) => this.relay(e), changed: () => this.changed(), release: (l) => this.release(l) });
  }

  /** Frees a lease no pipeline will settle; if the limiter is unreachable, the lease expires on its own. */
  private release(leaseId: string) {
    const meta = this.store.meta();
    if (!meta) return;
    void this.limiter(meta.tenantId)
      .release(leaseId)
      .catch((err: unknown) => this.log().warn("lease of an interrupted turn not released; it frees when it expires", { err, leaseId }));
  }

  async create(m: SessionMeta) {
    // The index row first: if D1 is down, nothing was created and the caller sees the error.
    await insertIndexRow(this.env.DB, m);
    this.store.create(m);
    this.changed();
  }

  owned(ref: SessionRef): SessionMeta | null {
    const r = SessionRefSchema.parse(ref);
    const meta = this.store.meta();
    return meta && meta.tenantId === r.tenantId && meta.sessionId === r.sessionId ? meta : null;
  }

  /** Appends to the log, then sends to every live socket: the same events, in the same order, to all. */
  emit(e: NewEvent): LoggedEvent {
    const logged = this.store.append(e);
    this.relay(logged);
    return logged;
  }

  /** Sends an event already in the log to every live socket. */
  relay(logged: LoggedEvent) {
    // A socket that only listens sends no frame to be checked on: one whose key check is due gets this event
    // only once the check passed.
    this.keys.sweep();
    this.sockets.broadcast(logged);
  }

  /** Runs one call through the orchestrator's chat routing, inside this object; the turn's stop stops it. */
  answer(call: ChatCall, stopped?: AbortSignal): Promise<ChatReply> {
    return runChat(this.env, this.ctx, call, stopped);
  }

  log(extra: Record<string, unknown> = {}) {
    const meta = this.store?.meta();
    return new Logger({ component: "session", tenantId: meta?.tenantId, sessionId: meta?.sessionId, ...extra }, this.settings.CIO_LOG_LEVEL);
  }

  limiter(tenantId: string) {
    return limiterStub(this.env.RATE_LIMITER, tenantId);
  }

  touchIndex() {
    const meta = this.store.meta();
    if (meta) return touchIndexRow(this.env.DB, meta).catch((err) => this.log().warn("session index not updated", { err }));
  }

  describe(meta: SessionMeta): Session {
    return {
      id: meta.sessionId,
      object: "session",
      title: meta.title,
      model: meta.model,
      created_at: meta.createdAt,
      last_active_at: meta.lastActiveAt,
      last_seq: this.store.lastSeq,
    };
  }

  /**
   * Sets the one alarm to the earliest of: expiry, the next idle check, the next key check, the next turn
   * timeout, the next compaction of the log.
   */
  changed() {
    const meta = this.store.meta();
    if (!meta) return;
    const s = this.settings;
    const sockets = this.sockets.all();
    const due: number[] = [];
    // While sockets are open the session is in use; expiry counts from when the last one closed.
    if (sockets.length) due.push(Math.min(...sockets.map((ws) => this.sockets.lastHeard(ws))) + s.CIO_SESSION_IDLE_S * 1000);
    else due.push(meta.lastActiveAt + s.CIO_SESSION_TTL_S * 1000);
    // A socket that only listens, its pings answered by the runtime, wakes nothing else to re-check its key.
    const keyCheck = this.keys.nextDue(sockets);
    if (keyCheck !== null) due.push(keyCheck);
    const running = this.store.runningTurns();
    for (const t of running) due.push(t.startedAt + s.CIO_SESSION_TURN_TIMEOUT_S * 1000);
    if (running.length) due.push(Date.now() + s.CIO_SESSION_TURN_HEARTBEAT_S * 1000);
    const compaction = this.compactBacklog ? Date.now() : this.store.nextCompaction(s.CIO_SESSION_DELTA_RETENTION_S * 1000);
    if (compaction !== null) due.push(Math.max(compaction, this.compactRetryAt));
    const at = Math.max(Date.now(), Math.min(...due));
    if (this.alarmAt === at) return;
    this.alarmAt = at;
    void this.ctx.storage.setAlarm(at);
  }

  /**
   * The alarm: fail orphaned or overdue turns, re-check the keys that are due, close idle sockets, delete the
   * session once it expired, else compact its log.
   */
  async alarm(closeIdle: (now: number) => void, reportCount: () => Promise<void>) {
    this.alarmAt = null;
    const meta = this.store.meta();
    if (!meta) return this.reportDeleted();
    const now = Date.now();
    this.turns.failOrphans();
    this.turns.enforceTimeout(this.settings.CIO_SESSION_TURN_TIMEOUT_S * 1000, now);
    await this.keys.checkDue(now);
    closeIdle(now);
    await reportCount();
    // Read again: closing the last idle socket moved last activity to when that socket was last heard (and a
    // delete may have run while the count was reported).
    const current = this.store.meta();
    if (!current) return;
    const expired = current.lastActiveAt + this.settings.CIO_SESSION_TTL_S * 1000 <= now;
    if (!this.sockets.count() && !this.turns.busy && expired) {
      // Nothing else reaches the object meanwhile: a socket or a turn arriving during the D1 delete found a
      // session that was about to be wiped under it. A failed delete is logged, and retried by the alarm it set.
      const gone = await this.ctx.blockConcurrencyWhile(() => this.destroy(current, "session expired").then(() => true, () => false));
      if (gone) this.log().info("session expired and was deleted", { lastActiveAt: current.lastActiveAt });
      return;
    }
    this.compact(now);
    this.changed();
  }

  /** One bounded pass over the log (compaction.ts); a failed one is logged and left to the next alarm. */
  private compact(now: number) {
    const s = this.settings;
    try {
      this.compactBacklog = this.store.compact({ now, deltaRetentionMs: s.CIO_SESSION_DELTA_RETENTION_S * 1000, maxEvents: s.CIO_SESSION_MAX_EVENTS });
    } catch (err) {
      this.compactBacklog = false;
      this.compactRetryAt = now + COMPACT_RETRY_MS;
      this.log().error("session log not compacted", { err });
    }
  }

  /**
   * Deletes everything: the index row first (if D1 fails, nothing is lost and the alarm tries again). All that
   * stays is a marker until the tenant's limiter has heard that the sockets are gone: a lost report would
   * keep them in the tenant's count, lowering CIO_TENANT_MAX_SOCKETS for good.
   */
  async destroy(meta: SessionMeta, why: "session deleted" | "session expired") {
    try {
      await deleteIndexRow(this.env.DB, meta);
    } catch (err) {
      this.log().error("session index row not deleted; retrying later", { err });
      this.alarmAt = Date.now() + 60_000;
      await this.ctx.storage.setAlarm(this.alarmAt);
      throw err;
    }
    // Only once the delete cannot fail any more: a failed one leaves the session, and its running turn, as they were.
    this.turns.stopAll(new TurnStop("session_deleted", why === "session deleted" ? "The session was deleted." : "The session expired."));
    this.sockets.closeAll(1000, why);
    this.store.wipe(meta);
    this.alarmAt = undefined;
    await this.ctx.storage.deleteAlarm();
    await this.reportDeleted();
  }

  /** Tells the limiter that a deleted session has no sockets left; its alarm asks again until that succeeds. */
  private async reportDeleted() {
    const ref = this.store.deleted();
    if (!ref) return;
    // Set before the call, so an eviction during it does not lose the report either.
    await this.ctx.storage.setAlarm(Date.now() + REPORT_RETRY_MS);
    try {
      await this.limiter(ref.tenantId).reportSockets(ref.sessionId, 0);
    } catch (err) {
      this.log(ref).warn("socket count of a deleted session not reported; retrying", { err, retryMs: REPORT_RETRY_MS });
      return;
    }
    this.store.clearDeleted();
    // A session created again under this id meanwhile has set its own alarm.
    if (!this.store.meta()) await this.ctx.storage.deleteAlarm();
  }
}
