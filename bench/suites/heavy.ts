/**
 * Heavy work on the local stack (Miniflare, the same Workers and queues as `npm start`): a 100 MB CSV
 * uploaded through the gateway and analysed by the queue consumer (throughput in wall and CPU time, the
 * peak heap of the consumer's isolate, and the growth of the whole workerd process's memory), and an OpenAI batch of 1,000 requests against the mock model
 * (time from creation to completion).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startMiniflareStack } from "../../scripts/lib/miniflare-stack.ts";
import { analysisHeap, HEAP_CAP_MB } from "../analysis-heap.ts";
import { isolateHeap, type HeapSampler } from "../isolate-heap.ts";
import { ROOT, benchKey, startProcess, stopProcess, type Row } from "../lib.ts";

const CSV_MB = Number(process.env.BENCH_CSV_MB ?? 100);
/** The queue consumer's Worker name (queues/heavy/wrangler.toml): its isolate runs the analysis. */
const CONSUMER = "cio-queue-heavy";
const MEMORY_METHOD =
  "worker_heap_peak_mb: largest V8 heap in use (plus ArrayBuffer memory outside it) of the queue consumer's own isolate, " +
  "sampled every 50 ms through the DevTools protocol (Runtime.getHeapUsage) during the analysis; garbage not yet collected " +
  "counts, so it over-estimates. This is the figure the 128 MB Worker limit applies to. workerd_rss_growth_mb is the whole " +
  "workerd process (every Worker, local R2 and D1, the runtime) and only an outer bound. workerd answers the DevTools " +
  "protocol only between pieces of work, so few samples arrive during an analysis (heap_samples) and that peak can miss " +
  "the true one: the 'V8 heap capped' row runs the same analysis modules under Node with the heap capped at 128 MB and " +
  "samples after every range; completing there shows the analysis fits (see bench/analysis-heap.ts).";
const BATCH_REQUESTS = Number(process.env.BENCH_BATCH_REQUESTS ?? 1000);

export async function heavy(): Promise<{ rows: Row[]; notes: Record<string, unknown> }> {
  const mockPort = 21_000 + Math.floor(Math.random() * 1000);
  const mock = await startProcess(process.execPath, [join(ROOT, "test/mock-upstream/server.ts"), "--port", String(mockPort), "--quiet"], /listening/);
  const stack = await startMiniflareStack({
    port: mockPort + 1000,
    stateDir: mkdtempSync(join(tmpdir(), "cio-bench-heavy-")),
    vars: { CIO_UPSTREAM_BASE_URL: `http://127.0.0.1:${mockPort}/v1`, CIO_UPSTREAM_MODELS: "mock-model", CIO_LOG_LEVEL: "error", CIO_HEAVY_PROGRESS_MS: "1000" },
    inspect: { port: mockPort + 1500, workers: [CONSUMER] },
  });
  const rows: Row[] = [];
  try {
    const headers = { authorization: `Bearer ${await benchKey(stack.url, stack.adminToken)}` };
    const heap = await isolateHeap(stack.inspectorUrl!, CONSUMER);
    try {
      rows.push(await csvAnalysis(stack.url, headers, heap));
    } finally {
      heap.close();
    }
    console.log(JSON.stringify(rows.at(-1)));
    rows.push(await batch(stack.url, headers));
    console.log(JSON.stringify(rows.at(-1)));
  } finally {
    await stack.stop();
    await stopProcess(mock);
  }
  const csv = rows[0]!;
  rows.push(await cappedHeap());
  console.log(JSON.stringify(rows.at(-1)));
  const capped = rows.at(-1)!;
  return {
    rows,
    notes: {
      csv_target: "≥ 20 MB/s within the 128 MB Worker limit",
      csv_mb_per_s: csv.mb_per_s,
      csv_mb_per_cpu_s: csv.mb_per_cpu_s,
      csv_worker_heap_peak_mb: csv.worker_heap_peak_mb,
      csv_worker_heap_idle_mb: csv.worker_heap_idle_mb,
      csv_worker_heap_external_reported: csv.heap_external_reported === 1,
      csv_workerd_rss_growth_mb: csv.workerd_rss_growth_mb,
      csv_capped_heap_peak_mb: capped.worker_heap_peak_mb,
      csv_capped_heap_limit_mb: HEAP_CAP_MB.old + HEAP_CAP_MB.young,
      csv_memory_method: MEMORY_METHOD,
      batch_total_s: rows[1]?.total_s,
    },
  };
}

/** Analysis params of the bench's task, shared by the Worker run and the capped-heap run. */
const CSV_PARAMS = { group_by: "region", aggregates: [{ column: "price", op: "mean" }] };

async function cappedHeap(): Promise<Row> {
  const path = join(mkdtempSync(join(tmpdir(), "cio-bench-csv-")), "bench.csv");
  writeFileSync(path, new Uint8Array(await csvText(CSV_MB).arrayBuffer()));
  try {
    const h = await analysisHeap(path, statSync(path).size, { file_id: "bench", ...CSV_PARAMS });
    return { suite: "heavy", target: `analyse ${CSV_MB} MB CSV, V8 heap capped at ${HEAP_CAP_MB.old + HEAP_CAP_MB.young} MB (Node, same code)`, connections: 0, rps: 0, p50: 0, p99: 0, errors: 0, non2xx: 0, mb_per_s: +(CSV_MB / h.seconds).toFixed(1), elapsed_s: +h.seconds.toFixed(2), read_wait_s: 0, workerd_cpu_s: 0, mb_per_cpu_s: 0, worker_heap_peak_mb: +(h.peakUsedMb + h.peakExternalMb).toFixed(1), worker_heap_idle_mb: +h.idleUsedMb.toFixed(1), heap_samples: h.samples, heap_external_reported: 1, workerd_rss_growth_mb: 0, total_s: 0 };
  } finally {
    rmSync(path);
  }
}

function csvText(mb: number): Blob {
  const regions = ["north", "south", "east", "west", "central"];
  const parts: string[] = ["id,region,product,units,price,shipped,day,comment\n"];
  let size = parts[0]!.length;
  let chunk = "";
  for (let i = 0; size + chunk.length < mb * 1024 * 1024; i++) {
    chunk += `${i},${regions[i % 5]},product-${i % 997},${i % 113},${((i * 7919) % 10_000) / 100},${i % 3 === 0},2024-${String((i % 12) + 1).padStart(2, "0")}-${String((i % 28) + 1).padStart(2, "0")},"note ${i % 50}, with a comma"\n`;
    if (chunk.length > 1 << 20) {
      parts.push(chunk);
      size += chunk.length;
      chunk = "";
    }
  }
  parts.push(chunk);
  return new Blob(parts);
}

async function csvAnalysis(url: string, headers: Record<string, string>, heap: HeapSampler): Promise<Row> {
  const form = new FormData();
  form.append("purpose", "analysis");
  form.append("file", csvText(CSV_MB), "bench.csv");
  const up = await fetch(`${url}/v1/files`, { method: "POST", headers, body: form });
  if (!up.ok) throw new Error(`upload failed: ${up.status} ${await up.text()}`);
  const file = (await up.json()) as { id: string; bytes: number };
  const idle = await heap.sample();
  const cpuBefore = workerdCpuS();
  const baseline = workerdRssMb();
  heap.start(50);
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, workerdRssMb())), 100);
  const task = (await (await fetch(`${url}/v1/tasks`, { method: "POST", headers: { ...headers, "content-type": "application/json" }, body: JSON.stringify({ type: "file_analysis", params: { file_id: file.id, ...CSV_PARAMS } }) })).json()) as { id: string };
  const done = await poll(`${url}/v1/tasks/${task.id}`, headers, (t) => ["succeeded", "failed"].includes(t.status as string));
  clearInterval(sampler);
  const { peak: heapPeak, samples } = await heap.stop();
  const cpuS = workerdCpuS() - cpuBefore;
  if (done.status !== "succeeded") throw new Error(`analysis failed: ${JSON.stringify(done)}`);
  const result = (await (await fetch(`${url}${done.result_url}`, { headers })).json()) as { bytes: number; elapsed_ms: number; read_wait_ms: number; rows: number };
  const mbPerS = result.bytes / (1024 * 1024) / (result.elapsed_ms / 1000);
  return { suite: "heavy", target: `analyse ${CSV_MB} MB CSV (${result.rows} rows)`, connections: 1, rps: 0, p50: 0, p99: 0, errors: 0, non2xx: 0, mb_per_s: +mbPerS.toFixed(1), elapsed_s: +(result.elapsed_ms / 1000).toFixed(2), read_wait_s: +(result.read_wait_ms / 1000).toFixed(2), workerd_cpu_s: +cpuS.toFixed(2), mb_per_cpu_s: +(result.bytes / (1024 * 1024) / cpuS).toFixed(1), worker_heap_peak_mb: +(heapPeak.usedMb + heapPeak.externalMb).toFixed(1), worker_heap_idle_mb: +(idle.usedMb + idle.externalMb).toFixed(1), heap_samples: samples, heap_external_reported: heapPeak.externalReported ? 1 : 0, workerd_rss_growth_mb: +(peak - baseline).toFixed(1), total_s: 0 };
}

async function batch(url: string, headers: Record<string, string>): Promise<Row> {
  const lines = Array.from({ length: BATCH_REQUESTS }, (_, i) => JSON.stringify({ custom_id: `r${i}`, method: "POST", url: "/v1/chat/completions", body: { model: "mock-model", messages: [{ role: "user", content: `Question ${i}` }] } }));
  const form = new FormData();
  form.append("purpose", "batch");
  form.append("file", new Blob([lines.join("\n")]), "batch.jsonl");
  const file = (await (await fetch(`${url}/v1/files`, { method: "POST", headers, body: form })).json()) as { id: string };
  const started = performance.now();
  const created = (await (await fetch(`${url}/v1/batches`, { method: "POST", headers: { ...headers, "content-type": "application/json" }, body: JSON.stringify({ input_file_id: file.id, endpoint: "/v1/chat/completions", completion_window: "24h" }) })).json()) as { id: string };
  const done = await poll(`${url}/v1/batches/${created.id}`, headers, (b) => ["completed", "failed", "cancelled"].includes(b.status as string));
  const totalS = (performance.now() - started) / 1000;
  const counts = done.request_counts as { completed: number; failed: number };
  return { suite: "heavy", target: `batch of ${BATCH_REQUESTS} requests (mock model)`, connections: 0, rps: +(counts.completed / totalS).toFixed(1), p50: 0, p99: 0, errors: counts.failed, non2xx: 0, mb_per_s: 0, elapsed_s: 0, read_wait_s: 0, workerd_cpu_s: 0, mb_per_cpu_s: 0, worker_heap_peak_mb: 0, worker_heap_idle_mb: 0, heap_samples: 0, heap_external_reported: 0, workerd_rss_growth_mb: 0, total_s: +totalS.toFixed(2) };
}

async function poll(url: string, headers: Record<string, string>, done: (b: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
  const until = Date.now() + 600_000;
  for (;;) {
    const body = (await (await fetch(url, { headers })).json()) as Record<string, unknown>;
    if (done(body)) return body;
    if (Date.now() > until) throw new Error(`timed out: ${JSON.stringify(body)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Resident memory of the workerd processes this benchmark started (the Workers' runtime), in MB. */
function workerdRssMb(): number {
  const pids = descendants(String(process.pid));
  if (!pids.length) return 0;
  try {
    const out = execFileSync("ps", ["-o", "rss=,comm=", "-p", pids.join(",")], { encoding: "utf8" });
    return out.split("\n").filter((l) => l.includes("workerd")).reduce((n, l) => n + Number(l.trim().split(/\s+/)[0]) / 1024, 0);
  } catch {
    return 0;
  }
}

/**
 * CPU time (user + system) the workerd processes have used so far, in seconds: unlike wall time it hardly
 * depends on what else runs on the machine, so it compares runs on a busy machine.
 */
function workerdCpuS(): number {
  const tick = 100; // USER_HZ on Linux
  return workerdPids().reduce((s, pid) => {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
      return s + (Number(fields[11]) + Number(fields[12])) / tick;
    } catch {
      return s;
    }
  }, 0);
}

function workerdPids(): string[] {
  const pids = descendants(String(process.pid));
  if (!pids.length) return [];
  try {
    const out = execFileSync("ps", ["-o", "pid=,comm=", "-p", pids.join(",")], { encoding: "utf8" });
    return out.split("\n").filter((l) => l.includes("workerd")).map((l) => l.trim().split(/\s+/)[0]!);
  } catch {
    return [];
  }
}

function descendants(pid: string): string[] {
  let children: string[] = [];
  try {
    children = execFileSync("pgrep", ["-P", pid], { encoding: "utf8" }).trim().split("\n").filter(Boolean);
  } catch {
    return [];
  }
  return children.flatMap((c) => [c, ...descendants(c)]);
}
