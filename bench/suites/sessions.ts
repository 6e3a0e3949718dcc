/**
 * Sessions: how many WebSockets the stack holds open at once (one session per socket, so one Durable
 * Object each), the round trip of a frame (the protocol's ping, answered by the runtime) and of a whole
 * chat turn (chat frame → assistant message, through the mock model), and workerd's memory before and
 * after. Served by Miniflare like the passthrough suite, with the mock model on 127.0.0.1.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import WebSocket from "ws";
import { startMiniflareStack } from "../../scripts/lib/miniflare-stack.ts";
import { withDirective } from "../../test/mock-upstream/directive.ts";
import { ROOT, benchKey, startProcess, stopProcess, type Row } from "../lib.ts";

interface Options {
  sockets: number;
  pings: number;
  turns: number;
}

export async function sessions(o: Options): Promise<{ rows: Row[]; notes: Record<string, unknown> }> {
  const mockPort = 19_000 + Math.floor(Math.random() * 500);
  const mock = await startProcess(process.execPath, [join(ROOT, "test/mock-upstream/server.ts"), "--port", String(mockPort), "--quiet"], /listening/);
  const stack = await startMiniflareStack({
    port: mockPort + 600,
    stateDir: mkdtempSync(join(tmpdir(), "cio-bench-sessions-")),
    vars: {
      CIO_UPSTREAM_BASE_URL: `http://127.0.0.1:${mockPort}/v1`,
      CIO_UPSTREAM_MODELS: "mock-model",
      CIO_LOG_LEVEL: "error",
      CIO_TENANT_MAX_SOCKETS: String(o.sockets * 2),
    },
  });
  const rows: Row[] = [];
  const notes: Record<string, unknown> = {};
  const clients: Client[] = [];
  try {
    const key = await benchKey(stack.url, stack.adminToken, "bench-sessions");
    const api = new Api(stack.url, key);
    const memBefore = workerdRssMb();
    const ids = await inBatches(o.sockets, 50, () => api.createSession());
    const t0 = performance.now();
    const opened = await inBatches(o.sockets, 100, (i) => Client.open(`${stack.url.replace(/^http/, "ws")}/v1/sessions/${ids[i]}/ws`, key).catch(() => null));
    const openMs = performance.now() - t0;
    for (const c of opened) if (c) clients.push(c);
    const memAfter = workerdRssMb();
    notes.open_sockets = clients.length;
    notes.open_all_ms = Math.round(openMs);
    notes.workerd_rss_mb_before = memBefore;
    notes.workerd_rss_mb_with_sockets = memAfter;
    notes.rss_kb_per_socket = clients.length ? Math.round(((memAfter - memBefore) * 1024) / clients.length) : null;
    console.log(JSON.stringify({ suite: "sessions", ...notes }));

    const ping = await timeAll(o.pings, 50, (i) => clients[i % clients.length]!.roundTrip({ type: "ping" }, (f) => f.type === "pong"));
    rows.push({ suite: "sessions", target: `ping round trip (${clients.length} sockets open)`, connections: 50, ...ping });
    console.log(JSON.stringify(rows.at(-1)));

    const answer = "one two three four five six seven eight nine ten";
    const turn = await timeAll(o.turns, 20, (i) => {
      const c = clients[i % clients.length]!;
      const id = `bench-${i}`;
      return c.roundTrip({ type: "chat", id, content: withDirective("hi", { text: answer }) }, (f) => f.type === "message" && f.id === id && f.role === "assistant");
    });
    rows.push({ suite: "sessions", target: "chat turn round trip (10 deltas)", connections: 20, ...turn });
    console.log(JSON.stringify(rows.at(-1)));
    notes.workerd_rss_mb_after_turns = workerdRssMb();
    notes.target = `${o.sockets} open sockets`;
  } finally {
    for (const c of clients) c.ws.terminate();
    await stack.stop();
    await stopProcess(mock);
  }
  return { rows, notes };
}

type Frame = { type: string; id?: string; role?: string };

class Client {
  private waiters: { pred: (f: Frame) => boolean; done: () => void }[] = [];
  readonly ws: WebSocket;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on("message", (d) => {
      const f = JSON.parse(String(d)) as Frame;
      this.waiters = this.waiters.filter((w) => (w.pred(f) ? (w.done(), false) : true));
    });
  }

  static open(url: string, key: string): Promise<Client> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { headers: { authorization: `Bearer ${key}` } });
      const c = new Client(ws);
      // A socket is live after its first frame: resume from the start (an empty log) to receive events.
      c.waiters.push({ pred: (f) => f.type === "ready", done: () => (ws.send(JSON.stringify({ type: "resume", after_seq: 0 })), resolve(c)) });
      ws.once("error", reject);
      ws.once("unexpected-response", (_q, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    });
  }

  roundTrip(frame: unknown, until: (f: Frame) => boolean): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("round trip timed out")), 30_000);
      this.waiters.push({ pred: until, done: () => (clearTimeout(timer), resolve()) });
      this.ws.send(JSON.stringify(frame));
    });
  }
}

class Api {
  private readonly url: string;
  private readonly key: string;

  constructor(url: string, key: string) {
    this.url = url;
    this.key = key;
  }

  async createSession(): Promise<string> {
    const res = await fetch(`${this.url}/v1/sessions`, {
      method: "POST",
      headers: { authorization: `Bearer ${this.key}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "mock-model" }),
    });
    if (res.status !== 201) throw new Error(`session not created: ${res.status} ${await res.text()}`);
    return ((await res.json()) as { id: string }).id;
  }
}

/** Runs `n` calls with at most `concurrency` at a time; results in order. */
async function inBatches<T>(n: number, concurrency: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, n) }, async () => {
      for (let i = next++; i < n; i = next++) out[i] = await fn(i);
    }),
  );
  return out;
}

async function timeAll(n: number, concurrency: number, fn: (i: number) => Promise<void>) {
  const ms: number[] = [];
  let errors = 0;
  const t0 = performance.now();
  await inBatches(n, concurrency, async (i) => {
    const t = performance.now();
    try {
      await fn(i);
      ms.push(performance.now() - t);
    } catch {
      errors++;
    }
  });
  const seconds = (performance.now() - t0) / 1000;
  ms.sort((a, b) => a - b);
  const pct = (p: number) => +(ms[Math.min(ms.length - 1, Math.floor((p / 100) * ms.length))] ?? 0).toFixed(1);
  return { rps: +(ms.length / seconds).toFixed(1), p50: pct(50), p99: pct(99), errors, non2xx: 0 };
}

/** Resident memory of the workerd processes started by this benchmark (descendants of this process). */
function workerdRssMb(): number {
  const table = execFileSync("ps", ["-eo", "pid=,ppid=,rss=,comm="], { encoding: "utf8" })
    .trim()
    .split("\n")
    .map((l) => l.trim().split(/\s+/))
    .map(([pid, ppid, rss, comm]) => ({ pid: Number(pid), ppid: Number(ppid), rss: Number(rss), comm: comm ?? "" }));
  const mine = new Set([process.pid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of table) if (mine.has(p.ppid) && !mine.has(p.pid)) mine.add(p.pid), (grew = true);
  }
  const kb = table.filter((p) => mine.has(p.pid) && p.comm.startsWith("workerd")).reduce((s, p) => s + p.rss, 0);
  return Math.round(kb / 1024);
}
