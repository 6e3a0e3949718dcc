/**
 * A scripted runner for Workers-runtime tests: connects through the gateway's real connect route with a
 * real runner token, speaks the tunnel protocol frame by frame, and records what the hub sends.
 */
import { encodeRowsFrame } from "../../lib/protocol/runner-rows.js";
import { RUNNER_PROTOCOL_VERSION, type HelloFrame, type HubToRunnerFrame, type QueryFrame, type RunnerFrame } from "../../lib/protocol/runner.js";
import { admin, call } from "./fixtures";

export async function runnerToken(tenantId: string, runnerName: string): Promise<{ id: string; token: string }> {
  return admin<{ id: string; token: string }>("POST", `/admin/tenants/${tenantId}/runner-tokens`, { runner_name: runnerName });
}

export const connectRunner = (token: string, extra: Record<string, string> = {}) =>
  call("/v1/runners/connect", { headers: { upgrade: "websocket", authorization: `Bearer ${token}`, ...extra } });

export function helloFrame(runnerName: string, over: Partial<HelloFrame> = {}): HelloFrame {
  return {
    type: "hello", protocol: RUNNER_PROTOCOL_VERSION, requestId: crypto.randomUUID(), runnerName, version: "0.1.0-test", dbKind: "postgres",
    schema: { tables: [{ schema: "public", name: "sales", columns: [{ name: "region", type: "text", nullable: false }, { name: "amount", type: "numeric", nullable: true }] }] },
    namedQueries: [{ name: "sales_by_region", description: "Sales per region", params: ["day"] }, { name: "daily_totals", description: "Total sales per day", params: [] }],
    namedOnly: false, maxRows: 10_000, maxConcurrent: 4, ...over,
  };
}

/** Whether `wire` is the hub's wire id for the caller's query id `id`. */
export const isWireIdOf = (wire: string, id: string) => wire.startsWith(`${id}.`);

export class FakeRunner {
  readonly received: HubToRunnerFrame[] = [];
  closed: { code: number; reason: string } | null = null;
  private waiters: (() => void)[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.addEventListener("message", (e) => {
      this.received.push(JSON.parse(e.data as string) as HubToRunnerFrame);
      this.notify();
    });
    ws.addEventListener("close", (e) => {
      this.closed = { code: e.code, reason: e.reason };
      this.notify();
    });
  }

  /** Connects and says hello; resolves once the hub acknowledged. */
  static async connect(token: string, runnerName: string, hello: Partial<HelloFrame> = {}): Promise<FakeRunner> {
    return FakeRunner.attach(await connectRunner(token), runnerName, hello);
  }

  /** Takes over the WebSocket of a 101 answer (from the gateway, or a hub's fetch in orchestrator tests). */
  static async attach(res: Response, runnerName: string, hello: Partial<HelloFrame> = {}): Promise<FakeRunner> {
    if (res.status !== 101 || !res.webSocket) throw new Error(`connect → ${res.status} ${await res.text()}`);
    res.webSocket.accept();
    const r = new FakeRunner(res.webSocket);
    r.send(helloFrame(runnerName, hello));
    await r.next((f) => f.type === "hello-ack");
    return r;
  }

  /** Rows frames go out binary, as the real runner sends them; everything else as JSON text. */
  send(frame: RunnerFrame | string | Uint8Array) {
    if (typeof frame === "string" || frame instanceof Uint8Array) this.ws.send(frame);
    else this.ws.send(frame.type === "rows" ? encodeRowsFrame(frame) : JSON.stringify(frame));
  }

  /** The first received frame (past or future) matching `pred`. */
  next<T extends HubToRunnerFrame>(pred: (f: HubToRunnerFrame) => f is T, timeoutMs?: number): Promise<T>;
  next(pred: (f: HubToRunnerFrame) => boolean, timeoutMs?: number): Promise<HubToRunnerFrame>;
  async next(pred: (f: HubToRunnerFrame) => boolean, timeoutMs = 3000): Promise<HubToRunnerFrame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const f = this.received.find(pred);
      if (f) return f;
      if (this.closed) throw new Error(`the hub closed the socket: ${this.closed.code} ${this.closed.reason}`);
      if (Date.now() > deadline) throw new Error(`frame not received; got ${JSON.stringify(this.received.map((x) => x.type))}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
  }

  /** The first query frame, or the first of the caller's query `id` (the hub sends `<id>.<suffix>` on the wire). */
  query(id?: string): Promise<QueryFrame> {
    return this.next((f): f is QueryFrame => f.type === "query" && (id === undefined || isWireIdOf(f.id, id)));
  }

  /** Answers a query frame with columns, the given chunks and done (no waiting for acks). */
  answer(q: QueryFrame, chunks: unknown[][][], columns = [{ name: "region", type: "text" }, { name: "total", type: "numeric" }]) {
    this.send({ type: "columns", id: q.id, requestId: q.requestId, columns });
    chunks.forEach((rows, seq) => this.send({ type: "rows", id: q.id, requestId: q.requestId, seq, rows }));
    const rowCount = chunks.reduce((n, c) => n + c.length, 0);
    this.send({ type: "done", id: q.id, requestId: q.requestId, rowCount, truncated: false, elapsedMs: 1 });
  }

  acks(id: string) {
    return this.received.filter((f) => f.type === "ack" && f.id === id).reduce((n, f) => n + (f.type === "ack" ? f.credits : 0), 0);
  }

  close(code = 1000, reason = "bye") {
    this.ws.close(code, reason);
  }

  private notify() {
    const w = this.waiters;
    this.waiters = [];
    w.forEach((r) => r());
  }
}
