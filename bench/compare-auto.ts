/**
 * `node bench/compare-auto.ts [ref]` (default main): the auto suite's request served by the floor Worker,
 * by `ref` and by this checkout side by side, with requests alternating between the three so they all see
 * the same load. On the shared 2-core machine the load moves p50 by more than most changes under test, so
 * two suite runs minutes apart cannot tell before from after; this can. `ref` is exported with git archive
 * into a temporary folder that borrows this checkout's node_modules. COMPARE_ANSWERS (250) sequential
 * answers per target; then COMPARE_SLICES (5) slices of 3 s at 10 connections per target, medians reported.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startMockUpstream } from "../test/mock-upstream/server.ts";
import { MOCK_TOOL_SECRET } from "../test/mock-upstream/tools.ts";
import { ROOT, benchKey, load } from "./lib.ts";
import { BODY, TOOL, autoVars, registerTool } from "./suites/auto.ts";
import { startAutoFloor } from "./suites/auto-floor.ts";

const ref = process.argv[2] ?? "main";
const answers = Number(process.env.COMPARE_ANSWERS ?? 250);
const slices = Number(process.env.COMPARE_SLICES ?? 5);

interface Target { url: string; headers: Record<string, string>; stop(): Promise<void> }

/** Our stack as built from `root`, with the bench tool registered, through that tree's own helpers. */
async function stack(root: string, port: number, origin: string): Promise<Target> {
  const ls = await import(join(root, "scripts/lib/local-stack.ts"));
  const ms = await import(join(root, "scripts/lib/miniflare-stack.ts"));
  const stateDir = mkdtempSync(join(tmpdir(), "cio-compare-"));
  registerTool(stateDir, `${origin}/tools/${TOOL}`, ls);
  const st = await ms.startMiniflareStack({ port, stateDir, vars: autoVars(origin) });
  const key = await benchKey(st.url, st.adminToken);
  return { url: `${st.url}/v1/chat/completions`, headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, stop: st.stop };
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;

const refRoot = mkdtempSync(join(tmpdir(), "cio-ref-"));
execFileSync("sh", ["-c", `git archive ${JSON.stringify(ref)} | tar -x -C ${JSON.stringify(refRoot)}`], { cwd: ROOT });
symlinkSync(join(ROOT, "node_modules"), join(refRoot, "node_modules"));
const mock = await startMockUpstream({ latencyMs: 20, toolLatencyMs: 10, quiet: true });
const origin = `http://127.0.0.1:${mock.port}`;
const port = 25_000 + Math.floor(Math.random() * 1000);
const floor = await startAutoFloor(port, origin, MOCK_TOOL_SECRET);
const targets: Record<string, Target> = {
  floor: { url: floor.url, headers: { "content-type": "application/json" }, stop: floor.stop },
  [ref]: await stack(refRoot, port + 1, origin),
  HEAD: await stack(ROOT, port + 2, origin),
};
try {
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(targets).map((k) => [k, []]));
  for (let i = 0; i < answers + 40; i++) {
    for (const [name, t] of Object.entries(targets)) {
      const started = performance.now();
      const r = await fetch(t.url, { method: "POST", headers: t.headers, body: BODY });
      const text = await r.text();
      if (r.status !== 200) throw new Error(`${name}: HTTP ${r.status} ${text}`);
      if (i >= 40) times[name]!.push(performance.now() - started); // the first 40 warm every target up
    }
  }
  const loaded: Record<string, { rps: number[]; p50: number[]; p99: number[] }> = Object.fromEntries(Object.keys(targets).map((k) => [k, { rps: [], p50: [], p99: [] }]));
  for (let s = 0; s < slices; s++) {
    for (const [name, t] of Object.entries(targets)) {
      const r = await load({ url: t.url, connections: 10, seconds: 3, headers: t.headers, body: BODY });
      loaded[name]!.rps.push(r.rps), loaded[name]!.p50.push(r.p50), loaded[name]!.p99.push(r.p99);
    }
  }
  const f = times.floor!;
  for (const [name, xs] of Object.entries(times)) {
    const l = loaded[name]!;
    console.log(JSON.stringify({
      target: name, p50: +pct(xs, 0.5).toFixed(1), p99: +pct(xs, 0.99).toFixed(1),
      beyond_floor_p50: +(pct(xs, 0.5) - pct(f, 0.5)).toFixed(1), beyond_floor_p99: +(pct(xs, 0.99) - pct(f, 0.99)).toFixed(1),
      c10_rps: pct(l.rps, 0.5), c10_p50: pct(l.p50, 0.5), c10_p99: pct(l.p99, 0.5),
    }));
  }
} finally {
  for (const t of Object.values(targets)) await t.stop();
  await mock.close();
  rmSync(refRoot, { recursive: true, force: true });
}
