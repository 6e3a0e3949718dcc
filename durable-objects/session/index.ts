/**
 * One SessionDO per (tenant, session): the conversation, its append-only event log and its live sockets.
 * Its id is derived from the tenant (sessionObjectName), and every call also names the tenant and session,
 * which must match what the object was created with, so a session is only ever reachable by its owner.
 * The public methods below are its whole RPC surface: the gateway (REST, WebSocket upgrade), the
 * orchestrator (a chat completion with `session_id`) and publishers of task and council events.
 */
import { DurableObject } from "cloudflare:workers";
import { ApiError, conflict, notFound, serverError } from "../../lib/errors.js";
import { SessionEventSchema, type ChatReply, type SessionEvent } from "../../lib/protocol/index.js";
import {
  CreateSessionCallSchema,
  SESSION_PING,
  SESSION_PONG,
  SessionChatCallSchema,
  type CreateSessionCall,
  type Session,
  type SessionMessage,
  type SessionRef,
} from "../../lib/protocol/session.js";
import type { OrchestratorEnv } from "../../workers/orchestrator/src/env.js";
import { settleLogged } from "../../workers/orchestrator/src/usage.js";
import { stoppable } from "./caller-stream.js";
import { SessionCore } from "./core.js";
import { CloseSocketsCallSchema, type CloseSocketsCall } from "./key-guard.js";
import { SocketHandler } from "./socket-handler.js";
import { continued, linkable, storedMessageOf, strayResult, unlinkedRefusal } from "./client-tools.js";
import { NOT_RECORDED, TurnStop, untilAborted } from "./turns.js";

export class SessionDO extends DurableObject<OrchestratorEnv> {
  private readonly core: SessionCore;
  private readonly sockets: SocketHandler;

  constructor(ctx: DurableObjectState, env: OrchestratorEnv) {
    super(ctx, env);
    this.core = new SessionCore(ctx, env);
    this.sockets = new SocketHandler(this.core);
    // Pings are answered by the runtime itself: an idle session does not wake up to say "pong".
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(SESSION_PING, SESSION_PONG));
    // Nothing of a previous incarnation is running any more: a turn it left "running" was cut off.
    if (this.core.turns.failOrphans().length) this.core.changed();
  }

  /** Null when the session already exists (ids are random; this guards against a retried create). */
  async create(raw: CreateSessionCall): Promise<Session | null> {
    const c = CreateSessionCallSchema.parse(raw);
    if (this.core.store.meta()) return null;
    const now = Date.now();
    const meta = { tenantId: c.tenantId, sessionId: c.sessionId, title: c.title, model: c.model, createdAt: now, lastActiveAt: now };
    await this.core.create(meta);
    return this.core.describe(meta);
  }

  async info(ref: SessionRef): Promise<Session | null> {
    const meta = this.core.owned(ref);
    return meta ? this.core.describe(meta) : null;
  }

  async messages(ref: SessionRef, after: number, limit: number): Promise<{ data: SessionMessage[]; has_more: boolean } | null> {
    if (!this.core.owned(ref)) return null;
    return this.core.store.messages(after, limit, this.core.settings.CIO_SESSION_SEND_MAX_BYTES);
  }

  async remove(ref: SessionRef): Promise<boolean> {
    const meta = this.core.owned(ref);
    if (!meta) return false;
    await this.core.destroy(meta, "session deleted");
    return true;
  }

  /**
   * The admin API revoked a key (its sockets close) or suspended the tenant (all close), now rather than at
   * the sockets' next key check. Returns how many were closed.
   */
  async closeSockets(raw: CloseSocketsCall): Promise<number> {
    const c = CloseSocketsCallSchema.parse(raw);
    if (!this.core.owned(c)) return 0;
    return this.core.keys.closeFor(c.reason, "keyId" in c ? c.keyId : undefined);
  }

  /** A WebSocket upgrade forwarded by the gateway after it authenticated the client. */
  override async fetch(req: Request): Promise<Response> {
    try {
      return await this.sockets.open(req);
    } catch (err) {
      if (err instanceof ApiError) return Response.json(err.toBody(), { status: err.status, headers: err.headers });
      throw err;
    }
  }

  /** A chat completion with `session_id`: the session's history goes first, and the turn is recorded. */
  async chatCompletion(raw: unknown): Promise<ChatReply> {
    const call = SessionChatCallSchema.parse(raw);
    const { session_id: sessionId, ...body } = call.body;
    const { store, turns } = this.core;
    const refuse = (e: ApiError, param: string | null = "session_id"): ChatReply => {
      // The call never reached a pipeline, so its concurrency slot is settled here.
      void settleLogged(this.env, this.core.log(), call.tenantId, call.leaseId, body.model);
      return { kind: "error", error: { ...e.toJSON(), error: { ...e.toBody().error, param } }, upstreamMs: 0 };
    };
    if (!this.core.owned({ tenantId: call.tenantId, sessionId })) return refuse(notFound(`No session with id '${sessionId}'.`, "session_not_found"));
    const unlinked = body.messages.findIndex((m) => !linkable(m));
    if (unlinked >= 0) return refuse(unlinkedRefusal(), `messages[${unlinked}].role`);
    if (turns.busy) return refuse(conflict("A turn is already running in this session; wait for it or cancel it.", "turn_in_progress"));
    const turnId = store.freeTurnId(call.requestId);
    const { history, incoming } = continued(store.history(this.core.settings.CIO_SESSION_HISTORY_MAX, this.core.settings.CIO_SESSION_HISTORY_MAX_CHARS), body.messages);
    const stray = strayResult(store.sinceLastAnswer(), incoming);
    if (stray) return refuse(stray, "messages");
    const signal = turns.begin(turnId, incoming.filter(linkable).map(storedMessageOf), call.requestId, call.leaseId);
    if (!signal) return refuse(serverError(NOT_RECORDED.message, NOT_RECORDED.code), null);
    store.touch(Date.now());
    let reply: ChatReply;
    try {
      // Raced against the turn's signal: a cancel, the watchdog or a delete answers the caller now. Awaited
      // alone, the overdue turn stayed running until the pipeline returned, and the alarm fired in a loop.
      // session_id stays on the body: the pipelines hand it to what reports back (a file analysis's task
      // events, a cio/council's rounds). Without it, none of those reached the session the turn ran in.
      reply = await untilAborted(this.core.answer({ ...call, body: { ...body, session_id: sessionId, messages: [...history, ...incoming] } }, signal), signal);
    } catch (err) {
      // The turn ends failed, as it does on the socket path: a turn left running kept every later request
      // of this session at 409 and its alarm firing in a loop, for good.
      await turns.follow(turnId, Promise.reject(err), signal);
      if (err instanceof TurnStop) return { kind: "error", error: err.toApiError().toJSON(), upstreamMs: 0 };
      throw err;
    }
    if (reply.kind !== "stream") {
      await turns.follow(turnId, reply, signal);
      void this.core.touchIndex();
      return reply;
    }
    // One branch answers the caller, the other is recorded into the session as it arrives.
    const [caller, session] = reply.body.tee();
    void turns.follow(turnId, { ...reply, body: session }, signal).then(() => this.core.touchIndex());
    return { ...reply, body: stoppable(caller, signal) };
  }

  /** SessionPublisher (lib/protocol/session-events.ts): stamps the event with its seq and relays it. */
  async publish(ref: SessionRef, raw: SessionEvent): Promise<{ seq: number } | null> {
    const event = SessionEventSchema.parse(raw);
    if (!this.core.owned(ref)) return null;
    const logged = this.core.emit(event);
    this.core.store.touch(Date.now());
    return { seq: logged.seq };
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer) {
    await this.sockets.message(ws, message);
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string) {
    await this.sockets.closed(ws, code, reason);
  }

  override async webSocketError(ws: WebSocket) {
    await this.sockets.closed(ws, 1011, "socket error");
  }

  override async alarm() {
    await this.core.alarm(
      (now) => this.sockets.closeIdle(now),
      () => this.sockets.reportCount(),
    );
  }
}
