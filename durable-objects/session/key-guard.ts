/**
 * Keeps a session's sockets to the promise that a revoked API key (or a suspended tenant) stops working
 * within 30 s, and that a change of the key's or tenant's limits (rpm, concurrency, daily token budget)
 * reaches the socket's turns as soon. The gateway authenticates a socket and resolves its limits once, when
 * it opens; from then on each socket records when its key must next be re-read from D1 (`keyCheckDue`,
 * every CIO_SESSION_KEY_CHECK_S), and each read that finds the key valid stores its current limits:
 * - a frame arriving after that waits for the read, and is refused with the socket closed if the key no
 *   longer holds;
 * - an event sent out after that starts the read, and the socket gets that event (and the ones after it)
 *   only once the read passed: sent first, a revoked key's listening socket received the next turn's content;
 * - the session's alarm comes by the earliest check due and makes it, which covers a client that only listens
 *   while nothing happens and the runtime answers its pings (those never wake the object).
 * Between checks a frame or an event costs no D1 read. The admin API also closes sockets at once (closeFor)
 * when it revokes a key or suspends a tenant; this re-check is what holds when that fan-out misses a session.
 */
import { z } from "zod";
import { keyStanding, resolveLimits, type KeyStanding, type StoredLimits } from "../../lib/db/key-limits.js";
import { SessionRefSchema, type AdmissionLimits } from "../../lib/protocol/session.js";
import type { Logger } from "../../lib/log.js";
import { close, send, type SocketState, type Sockets } from "./sockets.js";

/** How a refused socket is told: an `error` frame with the code, then a close code in the 4000 range. */
export const REFUSALS = {
  api_key_revoked: { close: 4401, reason: "api key revoked", message: "The API key this socket was opened with has been revoked." },
  tenant_suspended: { close: 4403, reason: "tenant suspended", message: "This organization is suspended." },
} as const;
export type Refusal = keyof typeof REFUSALS;

/** The admin API's call (over RPC) to close one key's sockets, or all of them when the tenant is suspended. */
export const CloseSocketsCallSchema = z.discriminatedUnion("reason", [
  SessionRefSchema.extend({ reason: z.literal("api_key_revoked"), keyId: z.string().min(1) }),
  SessionRefSchema.extend({ reason: z.literal("tenant_suspended") }),
]);
export type CloseSocketsCall = z.infer<typeof CloseSocketsCallSchema>;

/** After a failed D1 read the socket stays open (D1 down must not drop every session) and is retried soon. */
const RETRY_MS = 5_000;

export interface KeyGuardDeps {
  db: D1Database;
  sockets: Sockets;
  intervalMs: number;
  tenantId(): string | undefined;
  log(): Logger;
}

export class KeyGuard {
  /** One D1 read per key at a time, however many sockets or frames are waiting for it. */
  private inflight = new Map<string, Promise<KeyStanding | null>>();
  /** No socket's check is due before this (in memory only: after a wake-up the first event looks again). */
  private nextSweep = 0;

  constructor(private readonly d: KeyGuardDeps) {}

  /** The socket's key is first checked one interval after it opened: the gateway has just authenticated it. */
  firstDue(now: number) {
    return now + this.d.intervalMs;
  }

  /** Whether the socket may go on; reads D1 only when its check is due. A refused socket is closed. */
  async admit(ws: WebSocket, now = Date.now()): Promise<boolean> {
    const { keyId, keyCheckDue } = this.d.sockets.state(ws);
    if ((keyCheckDue ?? 0) > now) return true;
    const tenantId = this.d.tenantId();
    if (!tenantId) return true;
    const r = await this.status(tenantId, keyId);
    if (r === null || r.status === "ok") {
      const due = Date.now() + (r ? this.d.intervalMs : RETRY_MS);
      if (ws.readyState === WebSocket.OPEN) {
        const state = this.d.sockets.state(ws);
        this.d.sockets.update(ws, r ? { keyCheckDue: due, limits: currentLimits(state, r.limits) } : { keyCheckDue: due });
      }
      this.nextSweep = Math.min(this.nextSweep, due);
      return true;
    }
    // Every socket of that key (or of the tenant) goes, not only the one that asked.
    this.closeFor(r.status, r.status === "api_key_revoked" ? keyId : undefined);
    return false;
  }

  /** Before an event goes out: starts the checks that are due, holding their sockets back until each passed. */
  sweep(now = Date.now()) {
    if (now < this.nextSweep) return;
    void this.checkDue(now);
  }

  /**
   * Checks every socket whose check is due, each held back (sockets.ts) until its check passed; the alarm
   * awaits this. It looks at every socket: a wake-up does not know when the checks are due.
   */
  async checkDue(now = Date.now()): Promise<void> {
    let next = now + this.d.intervalMs;
    const checks: Promise<boolean>[] = [];
    for (const ws of this.d.sockets.all()) {
      const due = this.d.sockets.state(ws).keyCheckDue ?? 0;
      if (due > now) {
        next = Math.min(next, due);
        continue;
      }
      const check = this.admit(ws, now);
      this.d.sockets.hold(ws, check);
      checks.push(check);
    }
    this.nextSweep = next;
    await Promise.allSettled(checks);
  }

  /** When the earliest check of these sockets is due (the alarm comes by then); null without sockets. */
  nextDue(sockets: WebSocket[]): number | null {
    return sockets.length ? Math.min(...sockets.map((ws) => this.d.sockets.state(ws).keyCheckDue ?? 0)) : null;
  }

  /** Closes the sockets opened with `keyId` (all of them without one); returns how many. */
  closeFor(why: Refusal, keyId?: string): number {
    const r = REFUSALS[why];
    const hit = this.d.sockets.all().filter((ws) => keyId === undefined || this.d.sockets.state(ws).keyId === keyId);
    for (const ws of hit) {
      send(ws, { type: "error", code: why, message: r.message });
      close(ws, r.close, r.reason);
      this.d.sockets.forget(ws);
    }
    if (hit.length) this.d.log().info("session sockets closed", { reason: why, keyId, closed: hit.length });
    return hit.length;
  }

  private status(tenantId: string, keyId: string): Promise<KeyStanding | null> {
    let p = this.inflight.get(keyId);
    if (!p) {
      p = keyStanding(this.d.db, tenantId, keyId)
        .catch((err: unknown) => (this.d.log().warn("api key not re-checked; the socket stays open until the retry", { err, keyId }), null))
        .finally(() => this.inflight.delete(keyId));
      this.inflight.set(keyId, p);
    }
    return p;
  }
}

/**
 * The socket's limits as D1 has them now. An unset one takes the default the gateway resolved the socket
 * with; a socket opened by a gateway that sent no defaults keeps its own value for it instead.
 */
function currentLimits(state: SocketState, stored: StoredLimits): AdmissionLimits {
  return { ...resolveLimits(stored, state.defaults ?? state.limits), leaseTtlMs: state.limits.leaseTtlMs };
}
