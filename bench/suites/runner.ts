/**
 * Runner: 1,000,000 rows × 10 columns from PostgreSQL through the whole tunnel (the real cio-runner process
 * → WebSocket → RunnerHubDO → gateway, streamed as NDJSON to this client), against a plain pg cursor read of
 * the same table in the same run. Reports rows/s for both, their ratio, and the runner's peak RSS.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { request, type IncomingMessage } from "node:http";
import { join } from "node:path";
import pg from "pg";
import { prepareBenchTable, type BenchResult } from "../../runner/bench/pg-stream.ts";
import { startRunner } from "../../test/support/runner-process.ts";
import { startStack } from "../../test/support/stack.ts";
import { cpuMeter } from "../cpu-time.ts";
import { ROOT, type Row } from "../lib.ts";

const ROWS = Number(process.env.BENCH_RUNNER_ROWS ?? 1_000_000);
const PG = process.env.CIO_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const DB = "cio_runner_bench";
/**
 * The runner's rows per database fetch (frames are sized by the runner's frameBytes), and the hub's K.
 * 5000-row fetches: the driver waits for each fetch before it serialises and sends, so with 1000-row ones
 * the round trips to PostgreSQL held the tunnel at 0.37-0.40 of the direct rate on this machine, against
 * 0.65-0.88 with 5000 (same load, runner RSS 124-132 MB either way).
 */
const CHUNK_ROWS = Number(process.env.BENCH_RUNNER_CHUNK_ROWS ?? 5000);
const CREDITS = Number(process.env.BENCH_RUNNER_CREDITS ?? 8);

export async function runnerSuite(): Promise<{ rows: Row[]; notes: Record<string, unknown> }> {
  const url = await benchDatabase();
  await prepareBenchTable(url, ROWS);
  const direct = JSON.parse(execFileSync(process.execPath, [join(ROOT, "runner/bench/run.ts"), "--mode=direct", `--url=${url}`], { encoding: "utf8" }).trim().split("\n").at(-1)!) as BenchResult;
  const stack = await startStack({ CIO_RUNNER_TIMEOUT_MS: "600000", CIO_LOG_LEVEL: "error", CIO_RUNNER_CREDITS: String(CREDITS) });
  let runner: ReturnType<typeof startRunner> | undefined;
  try {
    const token = await setup(stack.url, stack.adminToken);
    runner = startRunner({
      cloudUrl: stack.url, token: token.runnerToken, name: "bench", db: { kind: "postgres", url },
      policyYaml: `  maxRows: ${ROWS * 2}\n  maxBytes: 100000000000\n  timeoutMs: 600000`,
      connectionYaml: `  chunkRows: ${CHUNK_ROWS}`,
      // e.g. BENCH_RUNNER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to see where the runner's CPU goes
      nodeArgs: process.env.BENCH_RUNNER_NODE_ARGS?.split(" ").filter(Boolean),
    });
    await waitConnected(stack.url, token.apiKey, runner.output);
    const tunnel = await throughTunnel(stack.url, token.apiKey, runner.child.pid!, url);
    const ratio = tunnel.rowsPerSec / direct.rowsPerSec;
    const rows: Row[] = [
      { suite: "runner", target: "pg cursor direct", connections: 1, rps: direct.rowsPerSec, p50: 0, p99: 0, errors: 0, non2xx: 0, rows: direct.rows, ms: direct.ms, rss_mb: direct.peakRssMb },
      { suite: "runner", target: "pg via cio-runner tunnel", connections: 1, rps: tunnel.rowsPerSec, p50: 0, p99: 0, errors: 0, non2xx: 0, rows: tunnel.rows, ms: tunnel.ms, rss_mb: tunnel.runnerRssMb },
    ];
    return { rows, notes: { unit: "rps is rows per second", rows: ROWS, chunkRows: CHUNK_ROWS, credits: CREDITS, ratio: Number(ratio.toFixed(3)), target: "ratio >= 0.5, runner RSS <= 150 MB", runnerPeakRssMb: tunnel.runnerRssMb, bytes: tunnel.bytes, directCpuSeconds: direct.cpuSeconds, tunnelCpuSeconds: tunnel.cpu } };
  } finally {
    await runner?.stop();
    await stack.stop();
  }
}

async function benchDatabase(): Promise<string> {
  const c = new pg.Client({ connectionString: PG });
  await c.connect();
  if (!(await c.query("SELECT 1 FROM pg_database WHERE datname = $1", [DB])).rowCount) await c.query(`CREATE DATABASE ${DB}`);
  await c.end();
  const u = new URL(PG);
  u.pathname = `/${DB}`;
  return u.toString();
}

async function setup(url: string, admin: string) {
  const call = async <T>(path: string, body: unknown): Promise<T> => {
    const res = await fetch(`${url}${path}`, { method: "POST", headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" }, body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`${path} → ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };
  const t = await call<{ id: string }>("/admin/tenants", { name: "bench-runner" });
  const k = await call<{ key: string }>(`/admin/tenants/${t.id}/keys`, { name: "bench" });
  const r = await call<{ token: string }>(`/admin/tenants/${t.id}/runner-tokens`, { runner_name: "bench" });
  return { apiKey: k.key, runnerToken: r.token };
}

async function waitConnected(url: string, key: string, output: () => string) {
  for (let i = 0; i < 300; i++) {
    const s = (await (await fetch(`${url}/v1/runners/bench`, { headers: { authorization: `Bearer ${key}` } })).json()) as { status?: string };
    if (s.status === "connected") return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the runner did not connect:\n${output().slice(-2000)}`);
}

/**
 * Streams the table through the tunnel, counting rows as they arrive, while sampling the runner's RSS and
 * measuring the CPU each stage spends (runner, workerd with the hub and gateway, this client, the database).
 */
async function throughTunnel(url: string, key: string, pid: number, dbUrl: string) {
  let backend = 0;
  const cpu = cpuMeter((p) => {
    if (p.pid === pid) return "runner";
    if (p.pid === process.pid) return "client";
    if (p.pid === backend) return "postgres";
    // wrangler dev runs the Workers in one workerd and relays every request through a proxy in another.
    if (p.comm === "workerd") return p.cmdline.includes("--inspector-addr") ? "workerd (hub, gateway)" : "workerd (wrangler dev proxy)";
    return p.comm;
  });
  const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024;
  let peak = rss();
  const sampler = setInterval(() => (peak = Math.max(peak, rss())), 50);
  const started = performance.now();
  // node:http rather than fetch: on two cores the client is a stage too, and fetch adds web streams on top.
  const res = await post(`${url}/v1/runners/bench/query`, key, { sql: "SELECT * FROM cio_bench_rows", stream: true, timeout_ms: 600_000 });
  let lines = 0;
  let bytes = 0;
  let tail = "";
  for await (const chunk of res as AsyncIterable<Buffer>) {
    if (!backend) backend = await backendPid(dbUrl);
    bytes += chunk.length;
    // V8's own Uint8Array indexOf: Buffer's goes through C++ on every call, about 2 µs a row here.
    const view = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length);
    for (let i = view.indexOf(10); i !== -1; i = view.indexOf(10, i + 1)) lines++;
    tail = (tail + chunk.subarray(Math.max(0, chunk.length - 300)).toString()).slice(-300);
  }
  const ms = performance.now() - started;
  clearInterval(sampler);
  const cpuSeconds = cpu.stop(backend ? [backend] : []);
  const last = JSON.parse(tail.trim().split("\n").at(-1)!) as { done?: { rowCount: number }; error?: unknown };
  if (!last.done) throw new Error(`the stream ended without done: ${JSON.stringify(last)}`);
  const rows = lines - 2;
  if (rows !== last.done.rowCount) throw new Error(`counted ${rows} rows, done says ${last.done.rowCount}`);
  return { rows, ms: Math.round(ms), rowsPerSec: Math.round(rows / (ms / 1000)), runnerRssMb: Math.round(peak), bytes, cpu: cpuSeconds };
}

function post(url: string, key: string, body: unknown): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" } }, (res) => {
      if (res.statusCode === 200) return resolve(res);
      let text = "";
      res.on("data", (d: Buffer) => (text += d.toString())).on("end", () => reject(new Error(`query → ${res.statusCode} ${text}`)));
    });
    req.on("error", reject);
    req.end(JSON.stringify(body));
  });
}

/** The PostgreSQL backend running the bench query, so its CPU can be told apart from the tunnel's. */
async function backendPid(url: string): Promise<number> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const r = await c.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE query LIKE 'SELECT * FROM cio_bench_rows%' AND pid <> pg_backend_pid() LIMIT 1");
    return r.rows[0]?.pid ?? -1;
  } finally {
    await c.end();
  }
}
