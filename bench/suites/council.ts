/**
 * Councils: 5 assistants × 3 rounds through `cio/council` (a JSON chat completion that returns when the
 * council escalates), every model call taking MODEL_MS at the mock. The assistants never agree, so all
 * three rounds run; the floor is 3 × MODEL_MS (each round's five calls run in parallel). Everything above
 * it is ours: gateway, CouncilDO steps and their alarms, storage, the D1 audit writes, the long-poll.
 * The target is wall ≤ 3 × MODEL_MS + 100 ms.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startMiniflareStack } from "../../scripts/lib/miniflare-stack.ts";
import { withDirective } from "../../test/mock-upstream/directive.ts";
import { ROOT, benchKey, startProcess, stopProcess, type Row } from "../lib.ts";

const MODEL_MS = Number(process.env.BENCH_COUNCIL_MODEL_MS ?? 200);
const ROUNDS = 3;
const FLOOR_MS = ROUNDS * MODEL_MS;
const IDS = ["a1", "a2", "a3", "a4", "a5"];

// Three say YES and two say NO in every round: 60% never reaches the 90% threshold.
const answer = (i: number) => JSON.stringify({ option: i < 3 ? "YES" : "NO", confidence: 0.7, reasoning: "Steady." });
const BODY = JSON.stringify({
  model: "cio/council",
  council: { assistants: IDS.map((id) => ({ id, persona: `You are ${id}.`, model: "mock-model" })), options: ["YES", "NO"], threshold: 0.9, max_rounds: ROUNDS },
  messages: [{ role: "user", content: withDirective("Ship it?", { cases: IDS.map((id, i) => ({ when: [`You are ${id}.`], text: answer(i) })) }) }],
});

export async function council(runs: number, concurrency: number[]): Promise<{ rows: Row[]; notes: Record<string, unknown> }> {
  const mockPort = 23_000 + Math.floor(Math.random() * 1000);
  const mock = await startProcess(process.execPath, [join(ROOT, "test/mock-upstream/server.ts"), "--port", String(mockPort), "--latency", String(MODEL_MS), "--quiet"], /listening/);
  const stack = await startMiniflareStack({
    port: mockPort + 1000,
    stateDir: mkdtempSync(join(tmpdir(), "cio-bench-council-")),
    vars: { CIO_UPSTREAM_BASE_URL: `http://127.0.0.1:${mockPort}/v1`, CIO_UPSTREAM_MODELS: "mock-model", CIO_LOG_LEVEL: "error" },
  });
  const rows: Row[] = [];
  try {
    const key = await benchKey(stack.url, stack.adminToken);
    const once = () => oneCouncil(`${stack.url}/v1/chat/completions`, key);
    await once(); // warm-up: first council loads the objects and the D1 statements
    for (const c of concurrency) {
      const walls: number[] = [];
      let errors = 0;
      const started = Date.now();
      for (let i = 0; i < runs; i++) {
        const batch = await Promise.all(Array.from({ length: c }, () => once().catch(() => null)));
        for (const w of batch) w === null ? errors++ : walls.push(w);
      }
      const elapsed = (Date.now() - started) / 1000;
      const p = (q: number) => quantile(walls, q);
      rows.push({
        suite: "council",
        target: `cio/council, 5 assistants × ${ROUNDS} rounds (model ${MODEL_MS} ms)`,
        connections: c,
        rps: +(walls.length / elapsed).toFixed(2),
        p50: p(0.5),
        p99: p(0.99),
        errors,
        non2xx: 0,
        runs: walls.length,
        min: Math.min(...walls),
        overhead_p50: p(0.5) - FLOOR_MS,
        overhead_max: Math.max(...walls) - FLOOR_MS,
      });
      console.log(JSON.stringify(rows.at(-1)));
    }
  } finally {
    await stack.stop();
    await stopProcess(mock);
  }
  const solo = rows.find((r) => r.connections === 1);
  return { rows, notes: { floor_ms: FLOOR_MS, target: `wall ≤ ${FLOOR_MS + 100} ms (3L + 100 ms)`, met_at_p50: solo ? solo.p50 <= FLOOR_MS + 100 : null } };
}

/** One council, start to escalation; resolves with its wall time in ms. */
async function oneCouncil(url: string, key: string): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(url, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: BODY });
  const body = (await res.json()) as { cio?: { status?: string } };
  const wall = performance.now() - t0;
  if (!res.ok || body.cio?.status !== "awaiting_human") throw new Error(`council did not run its ${ROUNDS} rounds: ${res.status} ${JSON.stringify(body).slice(0, 300)}`);
  return Math.round(wall);
}

function quantile(xs: number[], q: number): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}
