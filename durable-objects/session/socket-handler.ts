/**
 * A session's WebSocket side: admitting a socket (per-session and per-tenant limits), every frame a client
 * sends (size, JSON, zod, its key still valid, then chat / resume / cancel / ping), closes, and idle sockets.
 */
import { z } from "zod";
import { ApiError, badRequest, BUDGET_EXHAUSTED, notFound } from "../../lib/errors.js";
import { ClientFrameSchema, SOCKET_HEADERS, SocketLimitsSchema, type ClientFrame, type ServerFrame, type SocketLimits } from "../../lib/protocol/session.js";
import { continued } from "./client-tools.js";
import type { SessionCore } from "./core.js";
import { close, send, type SocketState } from "./sockets.js";
import type { SessionMeta } from "./store.js";
import { NOT_RECORDED, TurnStop } from "./turns.js";

const utf8 = new TextEncoder();

const NO_CHAT_SCOPE = "This API key lacks the 'chat' scope: its socket may listen to the session, not start or cancel turns.";

export class SocketHandler {
  /**
   * Turns waiting on their admission (the limiter's answer), and whether a cancel came for them meanwhile. In
   * memory: the object cannot hibernate while it awaits that answer.
   */
  private readonly admitting = new Map<string, { cancelled: boolean }>();
  /**
   * Sockets the limiter may have counted but this object has not accepted yet (admitSocket in flight). A
   * close or the alarm meanwhile reports an exact count: without them, it overwrote the limiter's +1, and the
   * tenant could open one socket past its limit per such race.
   */
  private opening = 0;

  constructor(private readonly s: SessionCore) {}

  async open(req: Request): Promise<Response> {
    if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      throw new ApiError(426, "invalid_request_error", "This endpoint only speaks WebSocket.", "upgrade_required");
    }
    const h = (name: string) => req.headers.get(name) ?? "";
    const ref = { tenantId: h(SOCKET_HEADERS.tenant), sessionId: h(SOCKET_HEADERS.session) };
    const meta = this.s.owned(ref);
    if (!meta) throw notFound(`No session with id '${ref.sessionId}'.`, "session_not_found");
    const { defaults, ...limits } = parseLimits(h(SOCKET_HEADERS.limits));
    const { CIO_SESSION_MAX_SOCKETS: perSession, CIO_TENANT_MAX_SOCKETS: perTenant } = this.s.settings;
    if (this.s.sockets.count() >= perSession) throw tooMany("session_socket_limit", `This session already has ${perSession} open sockets.`);
    this.opening++;
    // Nothing awaits between the answer and the accept below (the refusals report their own count).
    const admitted = await this.s.limiter(meta.tenantId).admitSocket(meta.sessionId, perTenant).finally(() => this.opening--);
    if (!admitted.ok) throw tooMany("tenant_socket_limit", `This organization already has ${perTenant} open session sockets.`);
    // Deleted while the limiter answered: the socket went into the wiped session, with no alarm to close it.
    if (!this.s.store.meta()) {
      await this.s.limiter(meta.tenantId).reportSockets(meta.sessionId, 0).catch((err) => this.s.log().warn("socket count not reported", { err }));
      throw notFound(`No session with id '${ref.sessionId}'.`, "session_not_found");
    }
    if (this.s.sockets.count() >= perSession) {
      await this.reportCount();
      throw tooMany("session_socket_limit", `This session already has ${perSession} open sockets.`);
    }
    const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
    const now = Date.now();
    const state: SocketState = {
      keyId: h(SOCKET_HEADERS.key),
      limits,
      defaults,
      requestId: h(SOCKET_HEADERS.request) || crypto.randomUUID(),
      readySeq: this.s.store.lastSeq,
      live: false,
      lastSeen: now,
      keyCheckDue: this.s.keys.firstDue(now),
      mayChat: h(SOCKET_HEADERS.mayChat) !== "0",
    };
    this.s.sockets.accept(server, state);
    send(server, { type: "ready", session_id: meta.sessionId, last_seq: state.readySeq });
    this.s.store.touch(now);
    // admitSocket already counted this socket; closes and the alarm report the exact count from here on.
    this.s.changed();
    return new Response(null, { status: 101, webSocket: client });
  }

  async message(ws: WebSocket, raw: string | ArrayBuffer) {
    const size = typeof raw === "string" ? utf8.encode(raw).byteLength : raw.byteLength;
    if (size > this.s.settings.CIO_SESSION_MAX_FRAME_BYTES) {
      send(ws, { type: "error", code: "frame_too_large", message: `Frames are limited to ${this.s.settings.CIO_SESSION_MAX_FRAME_BYTES} bytes.` });
      return close(ws, 1009, "frame too large");
    }
    const frame = parseFrame(typeof raw === "string" ? raw : new TextDecoder().decode(raw));
    if ("error" in frame) return send(ws, { type: "error", code: "invalid_frame", message: frame.error });
    const meta = this.s.store.meta();
    if (!meta) return close(ws, 1000, "session deleted");
    // The key is re-read from D1 when its check is due (key-guard.ts): a revoked one gets no answer.
    if (!(await this.s.keys.admit(ws))) return;
    const now = Date.now();
    const state = this.s.sockets.update(ws, { lastSeen: now });
    this.s.store.touch(now);
    const f = frame.ok;
    if (f.type === "ping") return send(ws, { type: "pong" });
    if (f.type === "resume") return this.resume(ws, f.after_seq);
    if (!this.s.sockets.isLive(ws)) this.liveFromReady(ws, state.readySeq);
    if (f.type === "cancel") {
      // Stopping a turn is acting on it: a listening socket must not stop the turn another key pays for.
      if (state.mayChat === false) return send(ws, { type: "error", id: f.id, code: "forbidden", message: NO_CHAT_SCOPE });
      const pending = this.admitting.get(f.id);
      // Refused as unknown, a cancel sent right after its chat frame left that turn to run and be billed.
      if (pending) return void (pending.cancelled = true);
      if (!this.s.turns.stop(f.id, new TurnStop("cancelled", "The turn was cancelled."))) {
        send(ws, { type: "error", id: f.id, code: "unknown_turn", message: `No running turn with id '${f.id}'.` });
      }
      return;
    }
    await this.chat(ws, f, meta, state);
  }

  async closed(ws: WebSocket, code: number, reason: string) {
    this.s.sockets.forget(ws);
    // Answer the client's close (the runtime may already have); a reserved code cannot be sent back.
    close(ws, code === 1005 || code === 1006 || code === 1015 ? 1000 : code, reason);
    if (!this.s.sockets.count(ws)) this.s.store.touch(Date.now());
    this.s.changed();
    await this.reportCount(ws);
  }

  closeIdle(now: number) {
    const idleMs = this.s.settings.CIO_SESSION_IDLE_S * 1000;
    let heard = 0;
    for (const ws of this.s.sockets.all()) {
      if (this.s.sockets.lastHeard(ws) + idleMs > now) continue;
      heard = Math.max(heard, this.s.sockets.lastHeard(ws));
      send(ws, { type: "error", code: "idle_timeout", message: `No frame for ${this.s.settings.CIO_SESSION_IDLE_S} s; closing.` });
      close(ws, 1000, "idle timeout");
      this.s.sockets.forget(ws);
    }
    // The session was in use until its last socket was last heard (pings count, and they touch nothing):
    // its expiry counts from then, or a session kept open by pings for longer than its TTL was deleted at once.
    if (heard && !this.s.sockets.count()) this.s.store.touch(heard);
  }

  /** Tells the tenant's limiter how many sockets this session really has open. */
  async reportCount(except?: WebSocket) {
    const meta = this.s.store.meta();
    if (!meta) return;
    await this.s
      .limiter(meta.tenantId)
      .reportSockets(meta.sessionId, this.s.sockets.count(except) + this.opening)
      .catch((err) => this.s.log().warn("socket count not reported", { err }));
  }

  private resume(ws: WebSocket, after: number) {
    if (this.s.sockets.isLive(ws)) {
      return send(ws, { type: "error", code: "already_live", message: "This socket is already receiving events; resume is its first frame only." });
    }
    if (after > this.s.store.lastSeq) {
      return send(ws, { type: "error", code: "invalid_seq", message: `after_seq ${after} is beyond the last event (${this.s.store.lastSeq}).` });
    }
    const floor = this.s.store.floor;
    // The events up to the floor are gone (compaction.ts): replaying the rest would leave a silent gap.
    if (after < floor) return send(ws, tooOld(floor));
    this.replay(ws, after);
  }

  /**
   * A socket whose first frame is not `resume` starts from `ready`'s last_seq. The cap may have dropped events
   * after it while the socket waited (pings keep it open without going live): the client is told before the rest.
   */
  private liveFromReady(ws: WebSocket, readySeq: number) {
    const floor = this.s.store.floor;
    if (readySeq < floor) send(ws, tooOld(floor));
    this.replay(ws, readySeq);
  }

  /**
   * Sends the events after `after` and makes the socket live, within CIO_SESSION_SEND_MAX_BYTES: a longer replay
   * stops, and the client is told to resume from the last event sent (a later frame that is not `resume` goes on
   * from there too). The socket is live only once a replay reached the end, so no event is skipped or sent twice.
   */
  private replay(ws: WebSocket, after: number) {
    const stopped = this.s.sockets.goLive(ws, this.s.store.framesAfter(after), this.s.settings.CIO_SESSION_SEND_MAX_BYTES);
    if (stopped === null) return;
    this.s.sockets.update(ws, { readySeq: stopped });
    send(ws, {
      type: "error",
      code: "replay_incomplete",
      message: `The replay stopped after seq ${stopped}, at ${this.s.settings.CIO_SESSION_SEND_MAX_BYTES} bytes; send resume with after_seq ${stopped} for the rest. Events reach this socket once a replay reached the end.`,
      next_after_seq: stopped,
    });
  }

  /** A turn is admitted like any chat request: the key's rate limits and the tenant's token budget apply. */
  private async chat(ws: WebSocket, f: Extract<ClientFrame, { type: "chat" }>, meta: SessionMeta, state: SocketState) {
    if (state.mayChat === false) {
      return send(ws, { type: "error", id: f.id, code: "forbidden", message: NO_CHAT_SCOPE });
    }
    const refused = this.refusal(f.id);
    if (refused) return send(ws, refused);
    const limiter = this.s.limiter(meta.tenantId);
    const admission = { cancelled: false };
    this.admitting.set(f.id, admission);
    const r = await limiter
      .reserve({ keyId: state.keyId, ...state.limits })
      .catch((err: unknown) => {
        this.s.log({ requestId: state.requestId }).error("turn not admitted: rate limiter unreachable", { err, turnId: f.id });
        return null;
      })
      .finally(() => this.admitting.delete(f.id));
    if (admission.cancelled) {
      if (r?.ok) void limiter.release(r.leaseId).catch(() => {});
      return send(ws, { type: "error", id: f.id, code: "cancelled", message: "The turn was cancelled before it started; nothing was recorded." });
    }
    // Nothing was recorded, so the client may send the same frame again.
    if (!r) return send(ws, { type: "error", id: f.id, code: "service_unavailable", message: "The turn could not be admitted right now; nothing was recorded. Retry shortly." });
    if (!r.ok) {
      const budget = r.reason === "daily_token_budget";
      const message = budget ? BUDGET_EXHAUSTED : `Rate limit reached (${r.reason}); retry in ${Math.ceil(r.retryAfterMs / 1000)} s.`;
      return send(ws, { type: "error", id: f.id, code: budget ? "budget_exceeded" : r.reason, message });
    }
    // Another frame may have started a turn, or a delete wiped the session, while the reservation was on its way.
    const late = this.refusal(f.id);
    if (late) {
      void limiter.release(r.leaseId).catch(() => {});
      return send(ws, late);
    }
    const question = { role: "user" as const, content: f.content };
    // As chatCompletion does: calls of the client's tools that this question leaves unanswered are left out.
    const { history, incoming } = continued(this.s.store.history(this.s.settings.CIO_SESSION_HISTORY_MAX, this.s.settings.CIO_SESSION_HISTORY_MAX_CHARS), [question]);
    // The answer's tool calls are recorded under this id; the turn's events carry it (request_id) for feedback.
    const requestId = `${state.requestId}.${f.id}`;
    const signal = this.s.turns.begin(f.id, [question], requestId, r.leaseId);
    if (!signal) {
      void limiter.release(r.leaseId).catch(() => {});
      return send(ws, { type: "error", id: f.id, ...NOT_RECORDED });
    }
    // session_id: task and council events of the turn report to this session (see chatCompletion).
    const body = { model: f.model ?? meta.model, messages: [...history, ...incoming], stream: true, session_id: meta.sessionId };
    // The orchestrator settles the lease (slot and tokens) when the answer ends, however it ends.
    const reply = this.s.answer({ requestId, tenantId: meta.tenantId, keyId: state.keyId, leaseId: r.leaseId, body }, signal);
    void this.s.turns.follow(f.id, reply, signal).then(() => this.s.touchIndex());
  }

  private refusal(id: string): ServerFrame | null {
    if (!this.s.store.meta()) return { type: "error", id, code: "session_not_found", message: "The session was deleted." };
    if (this.s.store.hasTurn(id)) return { type: "error", id, code: "duplicate_turn", message: `A turn with id '${id}' already exists.` };
    if (this.s.turns.busy) return { type: "error", id, code: "turn_in_progress", message: "A turn is already running in this session." };
    return null;
  }
}

function parseLimits(header: string): SocketLimits {
  try {
    return SocketLimitsSchema.parse(JSON.parse(header));
  } catch {
    throw badRequest("The session socket needs the caller's limits (x-cio-limits); the gateway sets them.");
  }
}

function parseFrame(text: string): { ok: ClientFrame } | { error: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { error: "Frames are JSON objects." };
  }
  const r = ClientFrameSchema.safeParse(json);
  return r.success ? { ok: r.data } : { error: z.prettifyError(r.error) };
}

const tooOld = (floor: number): ServerFrame => ({
  type: "error",
  code: "resume_too_old",
  message: `Events up to seq ${floor} are no longer kept. Reload the conversation from GET /v1/sessions/:id/messages, then resume with after_seq at least ${floor}.`,
  min_after_seq: floor,
});

/** A socket limit frees up when some client closes a socket, which nothing can predict: a short hint. */
const SOCKET_LIMIT_RETRY_S = 5;
const tooMany = (code: string, message: string) => new ApiError(429, "rate_limit_error", message, code, null, { "retry-after": String(SOCKET_LIMIT_RETRY_S) });
