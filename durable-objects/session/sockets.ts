/**
 * The sockets of one session under the Hibernation API. What a socket must remember across hibernation
 * lives in its attachment; which sockets receive live events is rebuilt from the attachments on wake.
 *
 * A socket receives the session's events once it is "live": after `ready` it is held until its first frame.
 * `resume {after_seq}` replays the log after that seq and makes it live in one synchronous step, so nothing
 * can be appended in between; any other first frame makes it live from `ready`'s last_seq. Either way the
 * client sees every event after its starting point exactly once, in order. A replay longer than the byte budget
 * stops short and the socket stays not live until a later replay, from where this one stopped, reaches the end.
 *
 * A live socket whose key is being re-checked is "held": the events broadcast meanwhile wait in its queue, and
 * go out in order once the check passed, or never if it failed (key-guard.ts).
 */
import type { ServerFrame, AdmissionLimits, LimitDefaults } from "../../lib/protocol/session.js";
import { byteBudget } from "./byte-budget.js";
import type { LogFrame } from "./store.js";

export interface SocketState {
  keyId: string;
  requestId: string;
  /** The key's limits, checked for every turn this socket starts; refreshed from D1 with each key check. */
  limits: AdmissionLimits;
  /** The gateway's defaults for limits the key and tenant leave unset. Absent on sockets of older gateways. */
  defaults?: LimitDefaults;
  /** The last seq announced in `ready`: where a socket that did not resume starts (or its last replay stopped). */
  readySeq: number;
  live: boolean;
  /** Last frame received (ms); pings answered by the runtime are read from its own timestamp. */
  lastSeen: number;
  /** When the key must next be re-read from D1 (ms; see key-guard.ts). Absent on sockets opened before it existed. */
  keyCheckDue?: number;
  /** Whether the key may start turns (the `chat` scope). Absent on sockets opened before it existed: they may. */
  mayChat?: boolean;
}

export class Sockets {
  private liveSet: Set<WebSocket> | null = null;
  /** Held sockets and the frames waiting for their key check (in memory: the D1 read keeps the object awake). */
  private held = new Map<WebSocket, string[]>();

  constructor(private readonly ctx: DurableObjectState) {}

  all(): WebSocket[] {
    return this.ctx.getWebSockets().filter((ws) => ws.readyState === WebSocket.OPEN);
  }

  count(except?: WebSocket): number {
    return this.all().filter((ws) => ws !== except).length;
  }

  accept(ws: WebSocket, state: SocketState) {
    this.ctx.acceptWebSocket(ws);
    ws.serializeAttachment(state);
  }

  state(ws: WebSocket): SocketState {
    return ws.deserializeAttachment() as SocketState;
  }

  update(ws: WebSocket, patch: Partial<SocketState>) {
    const next = { ...this.state(ws), ...patch };
    ws.serializeAttachment(next);
    return next;
  }

  /**
   * Replays `frames` (logged events as JSON) to the socket, then makes it live; the caller passes a synchronous
   * cursor. A replay that would send more than `maxBytes` stops before the event that does not fit and leaves the
   * socket not live: returns the seq of the last event sent (null once live), where the client resumes.
   */
  goLive(ws: WebSocket, frames: Iterable<LogFrame>, maxBytes: number): number | null {
    const fits = byteBudget(maxBytes);
    let sent: number | null = null;
    for (const f of frames) {
      if (!fits(f.bytes)) return sent;
      trySend(ws, f.data);
      sent = f.seq;
    }
    this.update(ws, { live: true });
    this.live().add(ws);
    return null;
  }

  isLive(ws: WebSocket) {
    return this.live().has(ws);
  }

  broadcast(frame: ServerFrame) {
    const data = JSON.stringify(frame);
    for (const ws of this.live()) {
      if (ws.readyState !== WebSocket.OPEN) this.live().delete(ws);
      else if (this.held.has(ws)) this.held.get(ws)!.push(data);
      else trySend(ws, data);
    }
  }

  /**
   * Sends the socket nothing until `check` settles: then what was broadcast meanwhile, in order, if it passed.
   * A socket already held keeps waiting for the check it is held for.
   */
  hold(ws: WebSocket, check: Promise<boolean>) {
    if (this.held.has(ws)) return;
    this.held.set(ws, []);
    const release = (passed: boolean) => {
      const queued = this.held.get(ws) ?? [];
      this.held.delete(ws);
      if (passed && ws.readyState === WebSocket.OPEN) for (const data of queued) trySend(ws, data);
    };
    // A check that threw cannot say whether the key holds: the socket is closed, and resumes when it reconnects.
    void check.then(release, () => (release(false), close(ws, 1011, "key check failed")));
  }

  forget(ws: WebSocket) {
    this.live().delete(ws);
  }

  /** When the socket was last heard from, including pings the runtime answered while we slept. */
  lastHeard(ws: WebSocket): number {
    const auto = this.ctx.getWebSocketAutoResponseTimestamp(ws)?.getTime() ?? 0;
    return Math.max(this.state(ws).lastSeen, auto);
  }

  closeAll(code: number, reason: string) {
    for (const ws of this.ctx.getWebSockets()) close(ws, code, reason);
    this.live().clear();
  }

  private live(): Set<WebSocket> {
    this.liveSet ??= new Set(this.all().filter((ws) => this.state(ws).live));
    return this.liveSet;
  }
}

export const send = (ws: WebSocket, frame: ServerFrame) => trySend(ws, JSON.stringify(frame));

function trySend(ws: WebSocket, data: string) {
  try {
    ws.send(data);
  } catch {
    // The socket closed under us; its close handler cleans up.
  }
}

export function close(ws: WebSocket, code: number, reason: string) {
  try {
    ws.close(code, reason);
  } catch {
    // Already closed.
  }
}
