/** Shared benchmark plumbing: autocannon runs, child processes, the table and the JSON report. */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { availableParallelism } from "node:os";
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import autocannon from "autocannon";
import { descendants } from "./cpu-time.ts";

export const ROOT = resolve(import.meta.dirname, "..");

export interface Row {
  suite: string;
  target: string;
  connections: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  [extra: string]: string | number;
}

export interface LoadOptions {
  url: string;
  connections: number;
  seconds: number;
  headers?: Record<string, string>;
  body?: string;
  method?: "GET" | "POST";
}

export async function load(o: LoadOptions) {
  const r = await autocannon({
    url: o.url,
    connections: o.connections,
    duration: o.seconds,
    method: o.method ?? "POST",
    headers: { "content-type": "application/json", ...o.headers },
    body: o.body,
  });
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.timeouts, non2xx: r.non2xx };
}

/** Starts a helper process and resolves when `ready` matches its output. */
export function startProcess(cmd: string, args: string[], ready: RegExp, env: Record<string, string> = {}): Promise<ChildProcess> {
  return new Promise((res, rej) => {
    const child = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    const timer = setTimeout(() => rej(new Error(`${cmd} not ready:\n${out.slice(-2000)}`)), 60_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      if (ready.test(out)) clearTimeout(timer), res(child);
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.on("exit", (code) => rej(new Error(`${cmd} exited with ${code}:\n${out.slice(-2000)}`)));
  });
}

export function stopProcess(child: ChildProcess): Promise<void> {
  return new Promise((res) => {
    if (child.exitCode !== null) return res();
    child.removeAllListeners("exit");
    child.on("exit", () => res());
    child.kill("SIGINT");
    setTimeout(() => child.kill("SIGKILL"), 5000).unref();
  });
}

/**
 * Gives the servers under test (every workerd this process started, and `others`) the last CPU to themselves,
 * and this process (the load generator) with the remaining children (the mock) the other CPUs. Unpinned,
 * workerd's one busy thread shared the CPUs with autocannon and the mock as the scheduler chose, and one
 * stack measured anywhere from 450 to 940 requests a second from one run to the next; pinned, 750 to 900.
 * Every target gets the same one CPU. Returns why it did not pin (one CPU, no taskset), or null.
 */
export function pinServers(others: ChildProcess[] = []): string | null {
  const cpus = availableParallelism();
  if (cpus < 2) return "one CPU";
  const children = descendants();
  const servers = new Set([...children.filter((p) => p.comm === "workerd").map((p) => p.pid), ...others.map((c) => c.pid!)]);
  const clients = [process.pid, ...children.map((p) => p.pid).filter((pid) => !servers.has(pid))];
  try {
    for (const pid of servers) execFileSync("taskset", ["-a", "-c", "-p", String(cpus - 1), String(pid)], { stdio: "ignore" });
    for (const pid of clients) execFileSync("taskset", ["-a", "-c", "-p", `0-${cpus - 2}`, String(pid)], { stdio: "ignore" });
  } catch (err) {
    return `taskset failed: ${(err as Error).message}`;
  }
  return null;
}

export function printTable(rows: Row[]) {
  const cols = Array.from(new Set(rows.flatMap((r) => Object.keys(r))));
  const fmt = (v: unknown) => (typeof v === "number" ? (Number.isInteger(v) ? String(v) : v.toFixed(1)) : String(v ?? ""));
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => fmt(r[c]).length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ");
  console.log(line(cols));
  console.log(line(widths.map((w) => "-".repeat(w))));
  for (const r of rows) console.log(line(cols.map((c) => fmt(r[c]))));
}

export function writeReport(rows: Row[], notes: Record<string, unknown>) {
  const dir = join(ROOT, "bench/results");
  mkdirSync(dir, { recursive: true });
  const report = { at: new Date().toISOString(), machine: { cpus: (globalThis as { navigator?: { hardwareConcurrency: number } }).navigator?.hardwareConcurrency }, rows, notes };
  const file = join(dir, `bench-${report.at.replace(/[:.]/g, "-")}.json`);
  writeFileSync(file, JSON.stringify(report, null, 2));
  writeFileSync(join(dir, "latest.json"), JSON.stringify(report, null, 2));
  return file;
}

/** A tenant and key with limits far above any benchmark's load, made through the admin API. */
export async function benchKey(url: string, adminToken: string, name = "bench"): Promise<string> {
  const h = { authorization: `Bearer ${adminToken}`, "content-type": "application/json" };
  const limits = { rpm_limit: 10_000_000, concurrency_limit: 10_000 };
  const t = (await (await fetch(`${url}/admin/tenants`, { method: "POST", headers: h, body: JSON.stringify({ name, ...limits }) })).json()) as { id: string };
  const k = (await (await fetch(`${url}/admin/tenants/${t.id}/keys`, { method: "POST", headers: h, body: JSON.stringify({ name, ...limits }) })).json()) as { key: string };
  return k.key;
}
