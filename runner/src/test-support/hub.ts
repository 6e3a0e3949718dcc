/**
 * A scripted stand-in for RunnerHubDO: a WebSocket server on 127.0.0.1 that checks the bearer token, records
 * every frame the runner sends (validated against the protocol) and lets a test send hub frames.
 */
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { WebSocket, WebSocketServer } from "ws";
import { readRowsFrame } from "../../../lib/protocol/runner-rows.ts";
import { RunnerToHubFrameSchema, type HelloFrame, type HubToRunnerFrame, type RunnerFrame } from "../../../lib/protocol/runner.ts";

export class ScriptedHub {
  readonly frames: RunnerFrame[] = [];
  readonly raw: string[] = [];
  readonly upgrades: { at: number; headers: IncomingHttpHeaders; accepted: boolean }[] = [];
  readonly sockets: WebSocket[] = [];
  /** Close codes of runner sockets, as they closed (1005: closed without a code, 1006: cut). */
  readonly closes: number[] = [];
  private readonly http: Server;
  private readonly wss = new WebSocketServer({ noServer: true });
  private listeners: (() => void)[] = [];
  /** The runner name the token is for, when the hub answers hellos itself (see `answerHellos`). */
  private runnerName: string | null = null;
  token: string;
  url = "";

  private constructor(token: string) {
    this.token = token;
    this.http = createServer((_req, res) => res.writeHead(404).end());
    this.http.on("upgrade", (req, socket, head) => {
      const accepted = req.url === "/v1/runners/connect" && req.headers.authorization === `Bearer ${this.token}`;
      this.upgrades.push({ at: Date.now(), headers: req.headers, accepted });
      if (!accepted) {
        socket.end("HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n");
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws));
    });
  }

  static async start(token = "test-token"): Promise<ScriptedHub> {
    const hub = new ScriptedHub(token);
    await new Promise<void>((resolve) => hub.http.listen(0, "127.0.0.1", resolve));
    hub.url = `http://127.0.0.1:${(hub.http.address() as AddressInfo).port}`;
    return hub;
  }

  private accept(ws: WebSocket) {
    this.sockets.push(ws);
    ws.on("close", (code) => void this.closes.push(code));
    ws.on("message", (data, isBinary) => {
      const text = data.toString();
      this.raw.push(text);
      const frame = isBinary ? readRowsFrame(new Uint8Array(data as Buffer)) : RunnerToHubFrameSchema.parse(JSON.parse(text));
      this.frames.push(frame);
      if (frame.type === "hello" && this.runnerName !== null) this.answerHello(ws, frame);
      for (const l of this.listeners) l();
    });
  }

  /** From now on, answers each hello as RunnerHubDO does for a token of `runnerName`. */
  answerHellos(runnerName: string) {
    this.runnerName = runnerName;
  }

  private answerHello(ws: WebSocket, hello: HelloFrame) {
    if (hello.runnerName !== this.runnerName) return ws.close(1008, `this token is for runner '${this.runnerName}', not '${hello.runnerName}'`);
    ws.send(JSON.stringify({ type: "hello-ack", requestId: hello.requestId, credits: 8 } satisfies HubToRunnerFrame));
  }

  get socket(): WebSocket {
    const ws = this.sockets.at(-1);
    if (!ws) throw new Error("no runner connected");
    return ws;
  }

  send(frame: HubToRunnerFrame | string) {
    this.socket.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  /** Resolves with the first frame (already received or future) matching `pred`. */
  waitFor<T extends RunnerFrame>(pred: (f: RunnerFrame) => f is T, timeoutMs?: number): Promise<T>;
  waitFor(pred: (f: RunnerFrame) => boolean, timeoutMs?: number): Promise<RunnerFrame>;
  waitFor(pred: (f: RunnerFrame) => boolean, timeoutMs = 5000): Promise<RunnerFrame> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const f = this.frames.find(pred);
        if (!f) return false;
        cleanup();
        resolve(f);
        return true;
      };
      const timer = setTimeout(() => (cleanup(), reject(new Error("frame not received in time"))), timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.listeners = this.listeners.filter((l) => l !== listener);
      };
      const listener = () => void check();
      this.listeners.push(listener);
      check();
    });
  }

  /** Drops every runner socket without a close handshake, as a crashed hub would. */
  dropAll() {
    for (const ws of this.sockets) ws.terminate();
  }

  async close() {
    this.dropAll();
    this.wss.close();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }
}
