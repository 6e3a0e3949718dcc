/**
 * `node bench/auto-cpu.ts` (through npm's PATH: `npx --no node bench/auto-cpu.ts`): the CPU a `cio/auto`
 * answer costs, whole processes read from /proc, for the floor Worker (the same three calls, no code of
 * ours) and for our stack, AUTO_CPU_ANSWERS (500) answers each, one at a time. Wall-time benches say how
 * much is ours; this says whether it is CPU (which more hops or more code cost) or waiting.
 * The V8 sampling profiler was tried through Miniflare's inspector and is not usable for this: every isolate
 * shares workerd's one thread, so each isolate's profile also counts the others' time.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startMiniflareStack } from "../scripts/lib/miniflare-stack.ts";
import { startMockUpstream } from "../test/mock-upstream/server.ts";
import { MOCK_TOOL_SECRET } from "../test/mock-upstream/tools.ts";
import { cpuMeter } from "./cpu-time.ts";
import { benchKey } from "./lib.ts";
import { BODY, TOOL, autoVars, registerTool } from "./suites/auto.ts";
import { startAutoFloor } from "./suites/auto-floor.ts";

const ANSWERS = Number(process.env.AUTO_CPU_ANSWERS ?? 500);

const mock = await startMockUpstream({ latencyMs: 20, toolLatencyMs: 10, quiet: true });
const origin = `http://127.0.0.1:${mock.port}`;
const stateDir = mkdtempSync(join(tmpdir(), "cio-auto-cpu-"));
registerTool(stateDir, `${origin}/tools/${TOOL}`);
const port = 26_000 + Math.floor(Math.random() * 1000);
const stack = await startMiniflareStack({ port, stateDir, vars: autoVars(origin) });
const floor = await startAutoFloor(port + 2, origin, MOCK_TOOL_SECRET);
try {
  const key = await benchKey(stack.url, stack.adminToken);
  const headers = { authorization: `Bearer ${key}`, "content-type": "application/json" };
  const send = async (url: string, h: Record<string, string>) => {
    const r = await fetch(url, { method: "POST", headers: h, body: BODY });
    await r.arrayBuffer();
    if (!r.ok) throw new Error(`status ${r.status} from ${url}`);
  };
  const targets = { floor: () => send(floor.url, {}), ours: () => send(`${stack.url}/v1/chat/completions`, headers) };
  for (const [name, answer] of Object.entries(targets)) {
    for (let i = 0; i < 50; i++) await answer(); // warm-up: JIT, caches, the registry
    const meter = cpuMeter();
    const t = Date.now();
    for (let i = 0; i < ANSWERS; i++) await answer();
    const cpu = Object.entries(meter.stop()).map(([k, s]) => `${k} ${((s * 1000) / ANSWERS).toFixed(2)}`);
    console.log(`${name}: ${((Date.now() - t) / ANSWERS).toFixed(2)} ms per answer; CPU ms per answer: ${cpu.join(", ")}`);
  }
} finally {
  await floor.stop();
  await stack.stop();
  await mock.close();
}
