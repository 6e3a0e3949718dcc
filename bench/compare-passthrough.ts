/**
 * `node bench/compare-passthrough.ts [ref]` (default main; HEAD compares uncommitted edits): the passthrough
 * suite's request at 50 connections through `ref`'s stack and through this checkout's, side by side, in
 * interleaved rounds (COMPARE_ROUNDS, 6, of COMPARE_SECONDS, 5 s each). On this host two bench runs minutes
 * apart differed by ±300 µs of CPU per request, more than most changes to the hot path; rounds that
 * alternate between the two stacks, both pinned to the same CPU, told a 100 µs change apart. Prints each
 * stack's median CPU µs per request, rps and p99 with every round's CPU figure beside them.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startMockUpstream } from "../test/mock-upstream/server.ts";
import { cpuSecondsOf, startedBy } from "./cpu-time.ts";
import { ROOT, benchKey, load, pinServers } from "./lib.ts";

const ref = process.argv[2] ?? "main";
const rounds = Number(process.env.COMPARE_ROUNDS ?? 6);
const seconds = Number(process.env.COMPARE_SECONDS ?? 5);
const BODY = JSON.stringify({ model: "mock-model", messages: [{ role: "user", content: "Say hello in five words." }] });

interface Target { name: string; url: string; headers: Record<string, string>; pids: number[]; stop(): Promise<void> }

/** The stack as built from `root`, through that tree's own helpers, with its state in memory like the suite's. */
async function stack(name: string, root: string, port: number, mockUrl: string): Promise<Target> {
  const ms = (await import(join(root, "scripts/lib/miniflare-stack.ts"))) as typeof import("../scripts/lib/miniflare-stack.ts");
  const stateDir = mkdtempSync(join(existsSync("/dev/shm") ? "/dev/shm" : tmpdir(), "cio-compare-"));
  const vars = { CIO_UPSTREAM_BASE_URL: mockUrl, CIO_UPSTREAM_MODELS: "mock-model", CIO_LOG_LEVEL: "error" };
  const [st, pids] = await startedBy(() => ms.startMiniflareStack({ port, stateDir, vars }));
  const key = await benchKey(st.url, st.adminToken);
  const stop = async () => (await st.stop(), rmSync(stateDir, { recursive: true, force: true }));
  return { name, url: `${st.url}/v1/chat/completions`, headers: { authorization: `Bearer ${key}` }, pids, stop };
}

async function round(t: Target) {
  const before = cpuSecondsOf(t.pids);
  const r = await load({ url: t.url, connections: 50, seconds, headers: t.headers, body: BODY });
  if (r.non2xx || r.errors) throw new Error(`${t.name}: ${r.non2xx} non-2xx answers, ${r.errors} errors`);
  return { rps: r.rps, p99: r.p99, cpu: Math.round(((cpuSecondsOf(t.pids) - before) * 1e6) / (r.rps * seconds)) };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const refRoot = mkdtempSync(join(tmpdir(), "cio-ref-"));
execFileSync("sh", ["-c", `git archive ${JSON.stringify(ref)} | tar -x -C ${JSON.stringify(refRoot)}`], { cwd: ROOT });
symlinkSync(join(ROOT, "node_modules"), join(refRoot, "node_modules"));
const mock = await startMockUpstream({ quiet: true });
const mockUrl = `http://127.0.0.1:${mock.port}/v1`;
const port = 26_000 + Math.floor(Math.random() * 1000);
const targets = [await stack(ref, refRoot, port, mockUrl), await stack("checkout", ROOT, port + 1, mockUrl)];
try {
  const notPinned = pinServers();
  if (notPinned) console.log(`servers not pinned: ${notPinned}`);
  for (const t of targets) await load({ url: t.url, connections: 50, seconds: 4, headers: t.headers, body: BODY }); // warm-up
  const runs = new Map(targets.map((t) => [t, [] as Awaited<ReturnType<typeof round>>[]]));
  for (let i = 0; i < rounds; i++) {
    // Alternating which goes first, so neither always follows the other's garbage.
    for (const t of i % 2 ? [...targets].reverse() : targets) runs.get(t)!.push(await round(t));
  }
  for (const [t, rs] of runs) {
    const cpu = rs.map((r) => r.cpu);
    console.log(JSON.stringify({ target: t.name, cpu_us_per_req: median(cpu), rps: Math.round(median(rs.map((r) => r.rps))), p99: median(rs.map((r) => r.p99)), cpu_rounds: cpu.join("/") }));
  }
} finally {
  for (const t of targets) await t.stop();
  await mock.close();
  rmSync(refRoot, { recursive: true, force: true });
}
