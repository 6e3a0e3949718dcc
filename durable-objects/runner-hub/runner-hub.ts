/**
 * One RunnerHubDO per (tenant, runner name). Runner sockets arrive through the gateway (which has checked
 * the runner token) and are held on the Hibernation API, so an idle pool costs nothing; heartbeats are
 * answered by an auto-response without waking the object. Runners with the same name form a pool: each
 * query goes to the least busy connection, and moves to another one if its runner is busy or goes away
 * before answering. Every heartbeat sweep also re-reads the connected tokens from D1 (token-check.ts), so a
 * revoked token's runners go within one sweep even when the admin API's disconnect did not reach the hub.
 *
 * Callers choose a query's id; the runner sees a wire id made fresh for every query (wireId), because the
 * runner may still be running an earlier query of that id that the hub already settled (cancelled, timed
 * out, reader gone): its late frames must not reach, or be refused as a duplicate of, the retry.
 */
import { DurableObject } from "cloudflare:workers";
import { Logger } from "../../lib/log.js";
import {
  HubQueryRequestSchema, RUNNER_IDENTITY_HEADERS, type HubError, type HubQueryRequest, type HubQueryResult, type RunnerStatus,
} from "../../lib/protocol/runner-hub.js";
import {
  parseFrame, PING_FRAME, PONG_FRAME, QUERY_ID_MAX, REQUEST_ID_MAX, RUNNER_PROTOCOL_VERSION, RunnerToHubFrameSchema, TOKEN_REVOKED_CLOSE,
  type HelloFrame, type HubToRunnerFrame, type QueryFrame,
} from "../../lib/protocol/runner.js";
import { decodeRows } from "../../lib/protocol/runner-rows.js";
import { ConnectionTable } from "./connections.js";
import { PendingQuery, type QuerySink } from "./pending-query.js";
import { hubSettings, type HubSettings } from "./settings.js";
import { BufferSink, StreamSink } from "./sinks.js";
import { statusOf } from "./status.js";
import { REFUSAL_CLOSE, refusedTokens, type TokenRefusal } from "./token-check.js";

interface Attachment {
  connectionId: string;
  tokenId: string;
  tenantId: string;
  runnerName: string;
  connectedAt: number;
}

export type StreamAnswer = { ok: true; body: ReadableStream<Uint8Array> } | { ok: false; error: HubError };

/** What the hub needs from the orchestrator's env besides its settings. */
interface HubEnv {
  DB: D1Database;
}

export class RunnerHubDO extends DurableObject<HubEnv> {
  private readonly conns: ConnectionTable;
  /** Running queries by the caller's id (cancel, duplicates) and by wire id (the runner's frames). */
  private readonly pending = new Map<string, PendingQuery>();
  private readonly onWire = new Map<string, PendingQuery>();
  /** Bytes the pending queries may still make the object hold (CIO_RUNNER_BUFFER_BUDGET_BYTES; see reservation). */
  private reserved = 0;
  private readonly lastSeen = new Map<string, number>();
  private readonly settings: HubSettings;
  private log: Logger;
  private turn = 0;

  constructor(ctx: DurableObjectState, env: HubEnv) {
    super(ctx, env);
    this.settings = hubSettings(env);
    this.log = new Logger({ component: "runner-hub" }, this.settings.CIO_LOG_LEVEL);
    this.conns = new ConnectionTable(ctx.storage.sql);
    this.conns.keepOnly(new Set(this.sockets().map(([a]) => a.connectionId)));
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING_FRAME, PONG_FRAME));
  }

  /** A runner's WebSocket upgrade, forwarded by the gateway with the identity its token proved. */
  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") return new Response("expected a WebSocket upgrade", { status: 426 });
    const h = request.headers;
    const tenantId = h.get(RUNNER_IDENTITY_HEADERS.tenant);
    const runnerName = h.get(RUNNER_IDENTITY_HEADERS.runner);
    const tokenId = h.get(RUNNER_IDENTITY_HEADERS.token);
    if (!tenantId || !runnerName || !tokenId) return new Response("missing runner identity", { status: 400 });
    const { 0: client, 1: server } = new WebSocketPair();
    const att: Attachment = { connectionId: crypto.randomUUID(), tokenId, tenantId, runnerName, connectedAt: Date.now() };
    this.ctx.acceptWebSocket(server, [att.connectionId, `token:${tokenId}`]);
    server.serializeAttachment(att);
    this.conns.add(att.connectionId, tokenId, att.connectedAt);
    this.log = this.log.child({ tenantId });
    this.log.info("runner connected", { runner: runnerName, connectionId: att.connectionId, requestId: h.get("x-request-id") });
    await this.scheduleSweep();
    return new Response(null, { status: 101, webSocket: client });
  }

  /** Runs a query on one of the pool's runners and returns the whole (bounded) result. */
  async query(raw: HubQueryRequest): Promise<HubQueryResult> {
    const sink = new BufferSink();
    const started = this.start(raw, sink, this.settings.CIO_RUNNER_MAX_ROWS, this.settings.CIO_RUNNER_MAX_BYTES, true);
    return started instanceof PendingQuery ? sink.result : { ok: false, error: started };
  }

  /** Runs a query and streams the result as NDJSON (see StreamSink); the reader's pace paces the runner. */
  async queryStream(raw: HubQueryRequest, maxRows: number): Promise<StreamAnswer> {
    let q: PendingQuery | undefined;
    const sink = new StreamSink(() => q?.cancel({ code: "cancelled", message: "the reader went away" }));
    const started = this.start(raw, sink, maxRows, Number.MAX_SAFE_INTEGER, false);
    if (!(started instanceof PendingQuery)) return { ok: false, error: started };
    q = started;
    return { ok: true, body: sink.body };
  }

  /** Cancels a running query: the runner cancels it on the database. False if no such query runs here. */
  cancel(id: string): boolean {
    const q = this.pending.get(id);
    if (!q) return false;
    q.cancel({ code: "cancelled", message: "the query was cancelled" });
    return true;
  }

  status(name: string): RunnerStatus {
    const active = new Map<string, number>();
    for (const q of this.pending.values()) if (q.connectionId) active.set(q.connectionId, (active.get(q.connectionId) ?? 0) + 1);
    const live = this.sockets().map(([a, ws]) => ({ row: this.conns.get(a.connectionId), lastSeen: this.seen(a, ws), active: active.get(a.connectionId) ?? 0 }));
    return statusOf(name, live, this.conns.lastSeen());
  }

  /** Closes every socket that authenticated with a token that has just been revoked. */
  disconnectToken(tokenId: string): number {
    const sockets = this.ctx.getWebSockets(`token:${tokenId}`);
    for (const ws of sockets) this.drop(ws, TOKEN_REVOKED_CLOSE, "the runner token was revoked");
    return sockets.length;
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer) {
    const att = ws.deserializeAttachment() as Attachment;
    this.lastSeen.set(att.connectionId, Date.now());
    if (typeof message !== "string") return this.rows(ws, att, new Uint8Array(message));
    const parsed = parseFrame(RunnerToHubFrameSchema, message);
    if (!parsed.ok) return this.badFrame(ws, att, /"id"\s*:\s*"([^"]{1,128})"/.exec(message)?.[1], parsed.error);
    const f = parsed.frame;
    if (f.type === "hello") return this.hello(ws, att, f);
    if (f.type === "ping") return this.send(ws, PONG_FRAME);
    const q = this.queryOf(ws, att, f.id, f.type === "columns");
    const retry = q?.onFrame(f);
    if (q && retry) this.failover(q, retry);
  }

  /** A binary frame: a chunk of rows, checked for framing and handed on without parsing the rows. */
  private rows(ws: WebSocket, att: Attachment, bytes: Uint8Array) {
    const d = decodeRows(bytes, this.settings.CIO_RUNNER_FRAME_BYTES);
    if (!d.ok) return this.badFrame(ws, att, d.id ?? undefined, d.error);
    this.queryOf(ws, att, d.chunk.header.id, true)?.onRows(d.chunk);
  }

  /** The query a frame (by wire id) belongs to, if it runs here on this connection. */
  private queryOf(ws: WebSocket, att: Attachment, id: string | null, streaming: boolean): PendingQuery | undefined {
    const q = this.onWire.get(id ?? "");
    if (q && q.connectionId === att.connectionId) return q;
    // Data of a query that already ended here (cancelled, truncated): make sure the runner stops.
    if (streaming && id) this.send(ws, { type: "cancel", id });
    return undefined;
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string) {
    this.drop(ws, code === 1005 || code === 1006 ? 1000 : code, reason || "closed by the runner");
  }

  override async webSocketError(ws: WebSocket, error: unknown) {
    this.log.warn("runner socket error", { error: String(error) });
    this.drop(ws, 1011, "socket error");
  }

  /** Drops runners that stopped pinging (a silent network partition looks like an open socket). */
  override async alarm() {
    const now = Date.now();
    for (const [a, ws] of this.sockets()) {
      if (now - this.seen(a, ws) > this.settings.CIO_RUNNER_HEARTBEAT_MS * 3) this.drop(ws, 1011, "no heartbeat from the runner");
    }
    await this.dropRefusedTokens();
    await this.scheduleSweep();
  }

  /** Drops the runners whose token no longer holds; D1 out of reach keeps them until the next sweep. */
  private async dropRefusedTokens() {
    const live = this.sockets();
    const tenantId = live[0]?.[0].tenantId;
    if (!tenantId) return;
    const ids = [...new Set(live.map(([a]) => a.tokenId))];
    const refused = await refusedTokens(this.env.DB, tenantId, ids).catch((err: unknown) => {
      this.log.warn("runner tokens not re-checked; the next sweep tries again", { error: String(err) });
      return new Map<string, TokenRefusal>();
    });
    for (const [a, ws] of live) {
      const why = refused.get(a.tokenId);
      if (!why) continue;
      this.log.info("runner dropped: its token no longer holds", { runner: a.runnerName, connectionId: a.connectionId, reason: why });
      this.drop(ws, REFUSAL_CLOSE[why], why);
    }
  }

  /** Sends a query to a runner, once it has its reservation of the buffer budget (busy if it does not fit). */
  private start(raw: HubQueryRequest, sink: QuerySink, maxRows: number, maxBytes: number, buffered: boolean): PendingQuery | HubError {
    const parsed = HubQueryRequestSchema.safeParse(raw);
    if (!parsed.success) return { code: "invalid_request", message: parsed.error.issues[0]?.message ?? "invalid query" };
    const r = parsed.data;
    if (this.pending.has(r.id)) return { code: "query_in_progress", message: `a query with id '${r.id}' is already running` };
    const s = this.settings;
    const bytes = Math.min(r.maxBytes ?? maxBytes, maxBytes);
    const { held, credits } = this.reservation(buffered, bytes);
    const frame: QueryFrame = {
      type: "query", id: wireId(r.id), requestId: r.requestId.slice(0, REQUEST_ID_MAX), sql: r.sql, named: r.named, params: r.params,
      maxRows: Math.min(r.maxRows ?? maxRows, maxRows),
      maxBytes: bytes,
      timeoutMs: Math.min(r.timeoutMs ?? s.CIO_RUNNER_TIMEOUT_MS, s.CIO_RUNNER_TIMEOUT_MS),
      credits,
    };
    const target = this.pick(new Set());
    if (!target) return { code: "runner_offline", message: "no runner of this name is connected; start cio-runner on the customer's server" };
    if (this.reserved + held > s.CIO_RUNNER_BUFFER_BUDGET_BYTES) return this.overBudget(held, buffered);
    this.reserved += held;
    const q = new PendingQuery(frame, sink, s.CIO_RUNNER_TIMEOUT_GRACE_MS, () => {
      this.reserved -= held;
      this.pending.delete(r.id);
      this.onWire.delete(frame.id);
    });
    this.pending.set(r.id, q);
    this.onWire.set(frame.id, q);
    this.log.info("query sent", { requestId: r.requestId, queryId: r.id, wireId: frame.id, connectionId: target[0].connectionId });
    q.dispatch(target[0].connectionId, (f) => this.send(target[1], f));
    return q;
  }

  /**
   * What a query may make the object hold, and its credits (K). A buffered query holds its rows until done:
   * its max bytes. A stream holds the frames its reader has not taken, at most K of CIO_RUNNER_FRAME_BYTES
   * (larger frames are refused), so it reserves those; while the budget has less room it gets fewer credits
   * (a slower stream rather than none), and none fit is busy.
   */
  private reservation(buffered: boolean, maxBytes: number): { held: number; credits: number } {
    const s = this.settings;
    if (buffered) return { held: maxBytes, credits: s.CIO_RUNNER_CREDITS };
    const room = Math.floor((s.CIO_RUNNER_BUFFER_BUDGET_BYTES - this.reserved) / s.CIO_RUNNER_FRAME_BYTES);
    const credits = Math.max(1, Math.min(s.CIO_RUNNER_CREDITS, room));
    return { held: credits * s.CIO_RUNNER_FRAME_BYTES, credits };
  }

  /** Busy (retryable): the queries running here already hold what the object can spare. */
  private overBudget(held: number, buffered: boolean): HubError {
    const mib = (n: number) => (n / 1024 / 1024).toFixed(1);
    const budget = this.settings.CIO_RUNNER_BUFFER_BUDGET_BYTES;
    this.log.warn("query refused: the buffer budget is taken", { reserved: this.reserved, asked: held, budget, buffered });
    const advice = buffered ? "retry shortly, ask for fewer bytes (max_bytes), or stream the result" : "retry shortly";
    return {
      code: "busy",
      message: `the runner hub is already holding up to ${mib(this.reserved)} MiB of results for other queries and this one may need ${mib(held)} MiB (budget ${mib(budget)} MiB); ${advice}`,
    };
  }

  /** Moves a query that no runner has started answering to another connection, or fails it. */
  private failover(q: PendingQuery, cause: HubError) {
    const next = this.pick(q.tried);
    if (!next) return q.fail(cause);
    this.log.warn("query moved to another runner", { queryId: q.id, cause: cause.code, connectionId: next[0].connectionId });
    q.dispatch(next[0].connectionId, (f) => this.send(next[1], f));
  }

  /** The ready connection (hello received) with the fewest running queries; ties in turn. */
  private pick(exclude: ReadonlySet<string>): [Attachment, WebSocket] | undefined {
    const load = new Map<string, number>();
    for (const q of this.pending.values()) if (q.connectionId) load.set(q.connectionId, (load.get(q.connectionId) ?? 0) + 1);
    const ready = this.sockets().filter(([a]) => !exclude.has(a.connectionId) && this.conns.get(a.connectionId)?.hello);
    if (!ready.length) return undefined;
    const start = this.turn++ % ready.length;
    const rotated = [...ready.slice(start), ...ready.slice(0, start)];
    return rotated.reduce((best, c) => ((load.get(c[0].connectionId) ?? 0) < (load.get(best[0].connectionId) ?? 0) ? c : best));
  }

  private hello(ws: WebSocket, att: Attachment, f: HelloFrame) {
    if (f.protocol !== RUNNER_PROTOCOL_VERSION) return this.drop(ws, 1008, `protocol ${f.protocol} is not supported; upgrade cio-runner`);
    if (f.runnerName !== att.runnerName) return this.drop(ws, 1008, `this token is for runner '${att.runnerName}', not '${f.runnerName}'`);
    try {
      this.conns.setHello(att.connectionId, f);
    } catch (err) {
      // A hello the object cannot store would leave the runner connected but never ready, with no error.
      this.log.error("a runner's hello could not be stored", { connectionId: att.connectionId, err });
      return this.drop(ws, 1011, "the hello could not be stored; set allow-lists to send a smaller schema");
    }
    this.log.info("runner ready", { requestId: f.requestId, connectionId: att.connectionId, version: f.version, dbKind: f.dbKind, tables: f.schema.tables.length });
    const s = this.settings;
    this.send(ws, { type: "hello-ack", requestId: f.requestId, credits: s.CIO_RUNNER_CREDITS, heartbeatMs: s.CIO_RUNNER_HEARTBEAT_MS, maxFrameBytes: s.CIO_RUNNER_FRAME_BYTES });
  }

  /** `id`: the query the frame seemed to be about, so that query fails rather than waits. */
  private badFrame(ws: WebSocket, att: Attachment, id: string | undefined, error: string) {
    this.log.warn("invalid frame from a runner", { connectionId: att.connectionId, error });
    const q = id ? this.onWire.get(id) : undefined;
    if (q && q.connectionId === att.connectionId) q.cancel({ code: "protocol_error", message: `the runner sent an invalid frame: ${error}` });
    else if (!this.conns.get(att.connectionId)?.hello) this.drop(ws, 1008, "the first frame must be a valid hello");
  }

  /** Forgets a connection: its queries fail over if they had no answer yet, otherwise fail at once. */
  private drop(ws: WebSocket, code: number, reason: string) {
    const att = ws.deserializeAttachment() as Attachment;
    try {
      ws.close(code, reason.slice(0, 120));
    } catch {
      /* already closed */
    }
    const row = this.conns.get(att.connectionId);
    if (row?.hello) this.conns.remember(this.seen(att, ws), row.hello);
    this.conns.remove(att.connectionId);
    this.lastSeen.delete(att.connectionId);
    this.log.info("runner disconnected", { connectionId: att.connectionId, code, reason });
    for (const q of [...this.pending.values()]) {
      if (q.connectionId !== att.connectionId) continue;
      const gone: HubError = { code: "runner_disconnected", message: `the runner disconnected while running the query (${reason})` };
      if (q.committed) q.fail(gone);
      else this.failover(q, gone);
    }
  }

  /** Open sockets with their attachments (a socket being dropped is already gone from the table). */
  private sockets(): [Attachment, WebSocket][] {
    return this.ctx
      .getWebSockets()
      .filter((ws) => ws.readyState === WebSocket.OPEN)
      .map((ws) => [ws.deserializeAttachment() as Attachment, ws]);
  }

  private seen(a: Attachment, ws: WebSocket): number {
    const auto = this.ctx.getWebSocketAutoResponseTimestamp(ws)?.getTime() ?? 0;
    return Math.max(a.connectedAt, this.lastSeen.get(a.connectionId) ?? 0, auto);
  }

  private send(ws: WebSocket, frame: HubToRunnerFrame | string) {
    try {
      ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
    } catch (err) {
      // The socket is closing; its close event fails or moves the queries it carried.
      this.log.warn("could not send to a runner", { error: String(err) });
    }
  }

  private async scheduleSweep() {
    if (!this.ctx.getWebSockets().length) return;
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now() + this.settings.CIO_RUNNER_HEARTBEAT_MS);
  }
}

/**
 * A query's id on the wire: the caller's (cut to fit QUERY_ID_MAX, for the runner's logs and audit) and a
 * random suffix, fresh for every query, so no frame of an earlier query with the same caller id can match.
 */
function wireId(id: string): string {
  const suffix = crypto.randomUUID().replaceAll("-", "").slice(0, 12);
  return `${id.slice(0, QUERY_ID_MAX - suffix.length - 1)}.${suffix}`;
}
