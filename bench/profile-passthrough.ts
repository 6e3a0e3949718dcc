/**
 * `npx --no node bench/profile-passthrough.ts`: where a passthrough request's CPU goes in our own code. The
 * V8 sampling profiler of the gateway's and the orchestrator's isolates (the latter holds the Durable
 * Objects too) runs through Miniflare's inspector while PROFILE_SECONDS (10) of load at 10 connections
 * goes through; prints each isolate's functions by self time, and by the file (package) they come from.
 * Time in other isolates shows as "(program)" or "(idle)" here (workerd runs them all on one thread), so
 * only the rows naming our code or a package are read as that isolate's own cost.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import WebSocket from "ws";
import { startMiniflareStack } from "../scripts/lib/miniflare-stack.ts";
import { startMockUpstream } from "../test/mock-upstream/server.ts";
import { benchKey, load } from "./lib.ts";

const SECONDS = Number(process.env.PROFILE_SECONDS ?? 10);
const WORKERS = ["cio-gateway", "cio-orchestrator"];
const BODY = JSON.stringify({ model: "mock-model", messages: [{ role: "user", content: "Say hello in five words." }] });

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

function devtools(url: string) {
  const ws = new WebSocket(url);
  let id = 0;
  const pending = new Map<number, (r: unknown) => void>();
  ws.on("message", (data) => {
    const msg = JSON.parse(String(data)) as { id?: number; result?: unknown };
    if (msg.id !== undefined) pending.get(msg.id)?.(msg.result), pending.delete(msg.id);
  });
  const send = (method: string, params: object = {}) =>
    new Promise<unknown>((res) => {
      const n = ++id;
      pending.set(n, res);
      ws.send(JSON.stringify({ id: n, method, params }));
    });
  return { open: new Promise((res, rej) => (ws.once("open", res), ws.once("error", rej))), send, close: () => ws.close() };
}

function report(worker: string, nodes: ProfileNode[], total: number) {
  const byFn = new Map<string, number>();
  const byFile = new Map<string, number>();
  for (const n of nodes) {
    const hits = n.hitCount ?? 0;
    if (!hits) continue;
    const file = n.callFrame.url.replace(/^.*\/(node_modules\/)?/, "") || "(native)";
    const fn = `${n.callFrame.functionName || "(anonymous)"} ${file}:${n.callFrame.lineNumber + 1}`;
    byFn.set(fn, (byFn.get(fn) ?? 0) + hits);
    byFile.set(file, (byFile.get(file) ?? 0) + hits);
  }
  const top = (m: Map<string, number>, k: number) =>
    [...m].sort((a, b) => b[1] - a[1]).slice(0, k).map(([name, hits]) => `  ${((100 * hits) / total).toFixed(1).padStart(5)}%  ${name}`);
  console.log(`\n== ${worker}: ${total} samples\n-- by function`);
  console.log(top(byFn, 30).join("\n"));
  console.log("-- by file");
  console.log(top(byFile, 15).join("\n"));
}

const mock = await startMockUpstream();
const stack = await startMiniflareStack({
  port: 19_500,
  stateDir: mkdtempSync(join(tmpdir(), "cio-profile-")),
  vars: { CIO_UPSTREAM_BASE_URL: mock.url, CIO_UPSTREAM_MODELS: "mock-model", CIO_LOG_LEVEL: "error" },
  inspect: { port: 19_600, workers: WORKERS },
});
try {
  const key = await benchKey(stack.url, stack.adminToken);
  const target = { url: `${stack.url}/v1/chat/completions`, headers: { authorization: `Bearer ${key}` }, body: BODY };
  await load({ ...target, connections: 10, seconds: 3 }); // warm-up
  const tools = WORKERS.map((w) => devtools(`${stack.inspectorUrl!.replace(/\/$/, "")}/${w}`));
  for (const t of tools) {
    await t.open;
    await t.send("Profiler.enable");
    await t.send("Profiler.setSamplingInterval", { interval: 100 });
    await t.send("Profiler.start");
  }
  const r = await load({ ...target, connections: 10, seconds: SECONDS });
  console.log(`load: ${Math.round(r.rps)} rps, p99 ${r.p99} ms, ${r.non2xx} non-2xx`);
  for (const [i, t] of tools.entries()) {
    const { profile } = (await t.send("Profiler.stop")) as { profile: { nodes: ProfileNode[]; samples: number[] } };
    report(WORKERS[i]!, profile.nodes, profile.samples.length);
    t.close();
  }
} finally {
  await stack.stop();
  await mock.close();
}
