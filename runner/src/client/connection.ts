/**
 * The runner's side of the tunnel: an outbound WebSocket to `<cloud>/v1/runners/connect` with the runner
 * token, a `hello` describing what the runner may show, heartbeats, and reconnection with exponential
 * backoff and full jitter. Incoming frames are validated against the shared zod schemas and handed to a
 * QueryExecutor (one per connection).
 */
import { EventEmitter } from "node:events";
import WebSocket from "ws";
import {
  HubToRunnerFrameSchema, MESSAGE_BYTES_MAX, parseFrame, PING_FRAME, RUNNER_CONNECT_PATH, TENANT_SUSPENDED_CLOSE, TOKEN_REVOKED_CLOSE, type HubToRunnerFrame,
} from "../../../lib/protocol/runner.ts";
import { messageOf } from "../errors.ts";
import { RUNNER_VERSION } from "../version.ts";
import { backoffDelay, type BackoffOptions } from "./backoff.ts";
import { encodeFrame } from "./encode.ts";
import { QueryExecutor, type ExecutorOptions } from "./executor.ts";
import { helloFrame, SchemaReader } from "./hello.ts";
import { within } from "./within.ts";

/** The executor's options (what a query runs with), and the connection's own. */
export interface ClientOptions extends Omit<ExecutorOptions, "credits" | "maxFrameBytes" | "watchdogGraceMs"> {
  /** Base URL of the cloud (https://…, wss://…, or http://127.0.0.1:… in tests). */
  cloudUrl: string;
  token: string;
  runnerName: string;
  /** K from the config, until hello-ack says otherwise. */
  credits: number;
  heartbeatMs: number;
  /** How long hello waits for the schema before it goes without (the schema follows in a second hello). */
  schemaTimeoutMs: number;
  /** How long stop() waits for the queries it cancels to end on the database (then the driver may close). */
  stopGraceMs: number;
  /** Offer permessage-deflate (off by default: on a fast link it costs more CPU and memory than it saves). */
  compress?: boolean;
  backoff: BackoffOptions;
  random?: () => number;
}

/** ws:// or wss:// URL of the connect endpoint for a cloud base URL. */
export function connectUrl(cloudUrl: string): string {
  const u = new URL(cloudUrl);
  u.protocol = u.protocol === "http:" || u.protocol === "ws:" ? "ws:" : "wss:";
  u.pathname = u.pathname.replace(/\/+$/, "") + RUNNER_CONNECT_PATH;
  return u.toString();
}

/** Close codes by which the hub refuses a runner, with what its operator should do about each. */
export const REFUSALS: Record<number, string> = {
  // After hello: wrong runner name or protocol version.
  1008: "the hub refused this runner (check runner.name and the cio-runner version)",
  [TOKEN_REVOKED_CLOSE]: "the hub dropped this runner: its runner token was revoked (create a new one and set it in cloud.token or cloud.tokenEnv)",
  [TENANT_SUSPENDED_CLOSE]: "the hub dropped this runner: the tenant is suspended (the runner reconnects once it is active again)",
};

/** Events: "open", "hello-ack", "close" (code, reason), "reconnect" (attempt, delayMs). */
export class RunnerClient extends EventEmitter {
  private readonly opts: ClientOptions;
  private ws: WebSocket | null = null;
  private executor: QueryExecutor | null = null;
  private attempt = 0;
  private stopped = false;
  private credits: number;
  /** The hub's limit on a rows frame (hello-ack); an older hub does not say, and only the message limit holds. */
  private maxFrameBytes = MESSAGE_BYTES_MAX;
  private heartbeatMs: number;
  /** Kept apart so that starting one connection's heartbeat never cancels the pending reconnect. */
  private heartbeat: NodeJS.Timeout | undefined;
  private retry: NodeJS.Timeout | undefined;
  private lastHeard = 0;
  /** Outlives connections: a read still under way when the socket drops serves the next one's hello. */
  private readonly schema: SchemaReader;
  /** Queries not yet ended, of every connection (a cancelled one ends once the database has stopped it). */
  private readonly runs = new Set<Promise<void>>();

  constructor(opts: ClientOptions) {
    super();
    this.opts = opts;
    this.schema = new SchemaReader(opts, opts.log);
    this.credits = opts.credits;
    this.heartbeatMs = opts.heartbeatMs;
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  /** Resolves once the socket is closed and the queries cancelled here have ended (at most stopGraceMs). */
  async stop() {
    this.stopped = true;
    this.clearTimers();
    this.executor?.abortAll("the runner is stopping");
    await Promise.all([this.closeSocket(), this.settle()]);
  }

  private async closeSocket() {
    const ws = this.ws;
    if (!ws || ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      ws.once("close", () => resolve());
      ws.close(1000, "runner stopping");
      setTimeout(() => (ws.terminate(), resolve()), 2000).unref();
    });
  }

  /**
   * Waits for the cancelled queries to end, so that the driver is closed only after their cancel reached the
   * database: MySQL's KILL QUERY needs a pool connection of its own, and a pool closed first refused it and
   * then waited for the statement, so a stopping runner hung until the statement's timeout.
   */
  private async settle() {
    if (!this.runs.size) return;
    const ended = await within(Promise.allSettled([...this.runs]), this.opts.stopGraceMs);
    if (ended === null) this.opts.log.warn("queries still running after stopGraceMs; stopping anyway", { queries: this.runs.size, stopGraceMs: this.opts.stopGraceMs });
  }

  private track(run: Promise<void>) {
    const ended = run.catch((err: unknown) => this.opts.log.error("query failed unexpectedly", { err }));
    this.runs.add(ended);
    void ended.finally(() => this.runs.delete(ended));
  }

  private connect() {
    const url = connectUrl(this.opts.cloudUrl);
    const ws = new WebSocket(url, {
      headers: { Authorization: `Bearer ${this.opts.token}`, "User-Agent": `cio-runner/${RUNNER_VERSION}` },
      handshakeTimeout: 10_000,
      perMessageDeflate: this.opts.compress ?? false,
      // A zero masking key lets ws skip XOR-ing every byte we send (an eighth of the runner's CPU on a large
      // result). Masking keeps bytes chosen by others (here: row data) from reading as HTTP to a proxy in
      // between; behind wss:// or on loopback no intermediary reads the frames, elsewhere we mask.
      ...(unmaskedIsSafe(url) ? { generateMask: (mask: Buffer) => void mask.fill(0) } : {}),
    });
    this.ws = ws;
    ws.on("open", () => void this.onOpen(ws));
    ws.on("message", (data) => this.onMessage(data.toString()));
    ws.on("unexpected-response", (_req, res) => {
      this.opts.log.error("the hub refused the connection", { status: res.statusCode, hint: hintFor(res.statusCode) });
      ws.terminate();
    });
    ws.on("error", (err) => this.opts.log.warn("connection error", { message: messageOf(err) }));
    ws.on("close", (code, reason) => this.onClose(ws, code, reason.toString()));
  }

  private async onOpen(ws: WebSocket) {
    this.lastHeard = Date.now();
    const send = (data: string | Uint8Array) => {
      if (ws.readyState === WebSocket.OPEN) ws.send(data);
    };
    this.executor = new QueryExecutor(
      { ...this.opts, credits: () => this.credits, maxFrameBytes: () => this.maxFrameBytes, log: this.opts.log.child({ component: "executor" }) },
      send,
    );
    this.opts.log.info("connected", { url: connectUrl(this.opts.cloudUrl) });
    // At once, not after hello: the hub answers pings before hello and drops a socket silent for three
    // intervals whether or not it said hello, so a slow schema read kept the runner offline for good.
    this.startHeartbeat(ws);
    await this.sayHello(ws, send);
  }

  /**
   * Says hello with the schema, or, when it takes longer than schemaTimeoutMs to read, with the last one read
   * (none yet: no tables) and then again once it is read: the hub keeps a connection's newest hello.
   */
  private async sayHello(ws: WebSocket, send: (data: string) => void) {
    const read = this.schema.read();
    const tables = await within(read, this.opts.schemaTimeoutMs);
    // The socket may have closed meanwhile: onClose has then scheduled the reconnect.
    if (!this.isCurrent(ws)) return;
    if (tables === null) {
      const last = this.schema.last;
      this.opts.log.warn("the database schema is slow to read; saying hello without it and again once it is read", {
        schemaTimeoutMs: this.opts.schemaTimeoutMs, tables: last ? `${last.length} as last read` : "none",
      });
    }
    send(encodeFrame(helloFrame(this.opts, tables ?? this.schema.last ?? [], this.opts.log)));
    this.emit("open");
    if (tables !== null) return;
    const late = await read;
    if (this.isCurrent(ws)) send(encodeFrame(helloFrame(this.opts, late, this.opts.log)));
  }

  private isCurrent(ws: WebSocket): boolean {
    return ws === this.ws && ws.readyState === WebSocket.OPEN;
  }

  private onMessage(raw: string) {
    this.lastHeard = Date.now();
    const parsed = parseFrame(HubToRunnerFrameSchema, raw);
    if (!parsed.ok) {
      this.opts.log.warn("invalid frame from the hub", { error: parsed.error });
      const frame = encodeFrame({
        type: "error", id: fieldOf(raw, "id"), requestId: fieldOf(raw, "requestId"), code: "invalid_frame", message: parsed.error,
      });
      if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(frame);
      return;
    }
    this.dispatch(parsed.frame);
  }

  private dispatch(frame: HubToRunnerFrame) {
    switch (frame.type) {
      case "hello-ack":
        // Only now has the hub accepted us: it checks the name and protocol after hello and may still refuse.
        this.attempt = 0;
        this.credits = frame.credits;
        this.maxFrameBytes = frame.maxFrameBytes ?? MESSAGE_BYTES_MAX;
        if (frame.heartbeatMs && frame.heartbeatMs !== this.heartbeatMs) {
          this.heartbeatMs = frame.heartbeatMs;
          if (this.ws) this.startHeartbeat(this.ws);
        }
        this.emit("hello-ack", frame);
        return;
      case "pong":
        return;
      case "query":
        if (this.executor) this.track(this.executor.run(frame));
        return;
      case "ack":
        this.executor?.ack(frame);
        return;
      case "cancel":
        this.executor?.cancel(frame);
        return;
    }
  }

  /** Pings every heartbeatMs; a hub silent for three intervals is presumed gone and the socket is dropped. */
  private startHeartbeat(ws: WebSocket) {
    clearInterval(this.heartbeat);
    this.heartbeat = setInterval(() => {
      if (Date.now() - this.lastHeard > this.heartbeatMs * 3) {
        this.opts.log.warn("no heartbeat from the hub; reconnecting");
        ws.terminate();
        return;
      }
      if (ws.readyState === WebSocket.OPEN) ws.send(PING_FRAME);
    }, this.heartbeatMs);
  }

  private onClose(ws: WebSocket, code: number, reason: string) {
    if (ws !== this.ws) return;
    this.clearTimers();
    this.executor?.abortAll("the connection to the hub closed");
    this.executor = null;
    this.emit("close", code, reason);
    if (this.stopped) return;
    // A refusal will not go away in seconds, so wait the longest (still jittered) delay. We keep retrying rather
    // than exit: under systemd (Restart=always) an exit only restarts us at once, and the hub may be fixed later
    // (a tenant reactivated; a new token in the config takes a restart).
    const why = REFUSALS[code];
    const delayMs = backoffDelay(why ? Infinity : this.attempt, this.opts.backoff, this.opts.random);
    const fields = { code, reason, attempt: this.attempt + 1, delayMs };
    if (why) this.opts.log.error(`${why}; retrying slowly`, fields);
    else this.opts.log.info("disconnected; reconnecting", fields);
    this.emit("reconnect", this.attempt + 1, delayMs);
    this.attempt++;
    this.retry = setTimeout(() => this.connect(), delayMs);
  }

  private clearTimers() {
    clearInterval(this.heartbeat);
    clearTimeout(this.retry);
  }
}

/** A string field of a frame that failed validation, if it has one that fits the protocol, to tie the error to. */
function fieldOf(raw: string, key: "id" | "requestId"): string | null {
  try {
    const v: unknown = JSON.parse(raw);
    if (typeof v !== "object" || v === null || !(key in v)) return null;
    const field: unknown = (v as Record<string, unknown>)[key];
    if (typeof field === "string" && field.length > 0 && field.length <= 128) return field;
  } catch {
    // not JSON: nothing to tie the error to
  }
  return null;
}

function hintFor(status: number | undefined): string {
  if (status === 401) return "the runner token was refused: check cloud.token / cloud.tokenEnv";
  if (status === 403) return "the runner token is not allowed to use this runner name";
  if (status === 404) return "no runner endpoint at this URL: check cloud.url";
  return "the hub answered with an HTTP error instead of a WebSocket upgrade";
}

/** Frames cannot be read by an intermediary: TLS, or a loopback address. */
export function unmaskedIsSafe(url: string): boolean {
  const u = new URL(url);
  return u.protocol === "wss:" || ["127.0.0.1", "localhost", "[::1]"].includes(u.hostname);
}
