/**
 * Streams N rows of 10 columns from PostgreSQL two ways and reports rows/s and peak RSS:
 *   direct — a plain pg-cursor read (the floor),
 *   runner — the runner's query path: policy, PostgresDriver, QueryExecutor and frame encoding, with an
 *            eager in-process hub that acks every chunk (the WebSocket hop is the lead's end-to-end bench).
 * Each mode runs in its own child process so one mode's heap does not inflate the other's RSS.
 */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import pg from "pg";
import Cursor from "pg-cursor";
import { QueryExecutor } from "../src/client/executor.ts";
import { poolSizeFor } from "../src/drivers/index.ts";
import { PostgresDriver } from "../src/drivers/postgres.ts";
import { silentLogger } from "../src/log.ts";
import { noAudit, Policy, PolicyConfigSchema } from "../src/policy/index.ts";

export interface BenchResult {
  mode: "direct" | "runner";
  rows: number;
  ms: number;
  rowsPerSec: number;
  peakRssMb: number;
  /** CPU seconds (user + system) of the process doing the read. */
  cpuSeconds: number;
  bytes?: number;
}

const SQL = "SELECT * FROM cio_bench_rows";

/** Creates (once) a table of `rows` rows with ten columns of mixed types. */
export async function prepareBenchTable(url: string, rows: number) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  const have = await c.query("SELECT count(*)::int AS n FROM cio_bench_rows").then((r) => r.rows[0].n as number, () => -1);
  if (have !== rows) {
    await c.query(`DROP TABLE IF EXISTS cio_bench_rows;
      CREATE TABLE cio_bench_rows AS SELECT g AS id, g::bigint * 7 AS big, 'name ' || g AS name, md5(g::text) AS hash,
        (g % 1000)::numeric / 7 AS amount, timestamp '2026-01-01' + g * interval '1 second' AS at, g % 2 = 0 AS flag,
        g / 3.0::float8 AS ratio, g % 97 AS bucket, 'region-' || (g % 12) AS region
      FROM generate_series(1, ${Number(rows)}) g`);
  }
  await c.end();
}

async function measure(mode: BenchResult["mode"], work: () => Promise<{ rows: number; bytes?: number }>): Promise<BenchResult> {
  let peak = process.memoryUsage.rss();
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 20);
  const started = performance.now();
  const cpu = process.cpuUsage();
  const { rows, bytes } = await work();
  const ms = performance.now() - started;
  const used = process.cpuUsage(cpu);
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage.rss());
  return { mode, rows, ms: Math.round(ms), rowsPerSec: Math.round(rows / (ms / 1000)), peakRssMb: Math.round(peak / 1048576), cpuSeconds: +((used.user + used.system) / 1e6).toFixed(2), bytes };
}

export function benchDirect(url: string, batch = 1000): Promise<BenchResult> {
  return measure("direct", async () => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    const cursor = c.query(new Cursor<unknown[]>(SQL, [], { rowMode: "array" }));
    let rows = 0;
    for (let r = await cursor.read(batch); r.length; r = await cursor.read(batch)) rows += r.length;
    await cursor.close();
    await c.end();
    return { rows };
  });
}

export function benchRunner(url: string, chunkRows = 1000, credits = 8): Promise<BenchResult> {
  return measure("runner", async () => {
    const driver = new PostgresDriver(url, poolSizeFor(1));
    const policy = new Policy(PolicyConfigSchema.parse({ maxRows: 1e9, maxBytes: 1e12, timeoutMs: 600_000 }), "postgres", "public");
    let bytes = 0;
    let rows = 0;
    const exec: QueryExecutor = new QueryExecutor(
      { driver, policy, audit: noAudit, log: silentLogger(), chunkRows, frameBytes: 512 * 1024, maxConcurrent: 1, credits: () => credits },
      (data) => {
        bytes += data.length;
        if (typeof data !== "string") setImmediate(() => exec.ack({ type: "ack", id: "b", credits: 1 }));
        else if (data.startsWith('{"type":"done"')) rows = (JSON.parse(data) as { rowCount: number }).rowCount;
        else if (data.startsWith('{"type":"error"')) throw new Error(data);
      },
    );
    await exec.run({ type: "query", id: "b", requestId: "bench", sql: SQL, maxRows: 1e9, maxBytes: 1e12, timeoutMs: 600_000 });
    await driver.close();
    return { rows, bytes };
  });
}

/** Runs both modes, each in a fresh Node process, and returns their results. */
export async function benchPgTunnel(opts: { url: string; rows: number }): Promise<BenchResult[]> {
  await prepareBenchTable(opts.url, opts.rows);
  const script = fileURLToPath(new URL("./run.ts", import.meta.url));
  return (["direct", "runner"] as const).map((mode) => {
    const out = execFileSync(process.execPath, [script, `--mode=${mode}`, `--url=${opts.url}`], { encoding: "utf8" });
    return JSON.parse(out.trim().split("\n").at(-1)!) as BenchResult;
  });
}
