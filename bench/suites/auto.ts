/**
 * cio/auto with one tool call: the scripted mock model asks for a tool in round one and answers in round
 * two, each round taking MODEL_MS; the tool (an HTTPS tool served by the mock, HMAC-verified) takes
 * TOOL_MS. Everything on top of 2 × MODEL_MS + TOOL_MS is ours: gateway, orchestrator, registry,
 * dispatcher, breaker, the HTTP hops. The target is ≤ 5 ms at p50.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { applyMigrations, wrangler } from "../../scripts/lib/local-stack.ts";
import { startMiniflareStack } from "../../scripts/lib/miniflare-stack.ts";
import { withDirective } from "../../test/mock-upstream/directive.ts";
import { MOCK_TOOL_SECRET } from "../../test/mock-upstream/tools.ts";
import { ROOT, benchKey, load, startProcess, stopProcess, type Row } from "../lib.ts";

const MODEL_MS = 20;
const TOOL_MS = 10;
const FLOOR_MS = 2 * MODEL_MS + TOOL_MS;
const TOOL = "bench-echo";

const BODY = JSON.stringify({
  model: "cio/auto",
  messages: [{ role: "user", content: withDirective("Echo something", { script: [{ tool_calls: [{ name: TOOL, arguments: { mode: "echo" } }] }, { text: "The tool answered." }] }) }],
});

export async function auto(seconds: number, connections: number[]): Promise<{ rows: Row[]; notes: Record<string, unknown> }> {
  const mockPort = 21_000 + Math.floor(Math.random() * 1000);
  const origin = `http://127.0.0.1:${mockPort}`;
  const mock = await startProcess(process.execPath, [join(ROOT, "test/mock-upstream/server.ts"), "--port", String(mockPort), "--latency", String(MODEL_MS), "--tool-latency", String(TOOL_MS), "--quiet"], /listening/);
  const stateDir = mkdtempSync(join(tmpdir(), "cio-bench-auto-"));
  registerTool(stateDir, `${origin}/tools/${TOOL}`);
  const stack = await startMiniflareStack({
    port: mockPort + 1000,
    stateDir,
    vars: {
      CIO_UPSTREAM_BASE_URL: `${origin}/v1`,
      CIO_UPSTREAM_MODELS: "mock-model",
      CIO_PROVIDER: "openai",
      CIO_AUTO_MODEL: "mock-model",
      CIO_TOOL_HMAC_SECRET: MOCK_TOOL_SECRET,
      CIO_LOG_LEVEL: "error",
    },
  });
  const rows: Row[] = [];
  try {
    const key = await benchKey(stack.url, stack.adminToken);
    const url = `${stack.url}/v1/chat/completions`;
    const headers = { authorization: `Bearer ${key}` };
    const probe = await fetch(url, { method: "POST", headers: { ...headers, "content-type": "application/json" }, body: BODY });
    const answer = (await probe.json()) as { cio?: { tools: { ok: boolean }[] } };
    if (!answer.cio?.tools[0]?.ok) throw new Error(`the benchmark request does not call the tool: ${JSON.stringify(answer)}`);
    await load({ url, connections: 4, seconds: 2, headers, body: BODY }); // warm-up
    for (const c of connections) {
      const r = await load({ url, connections: c, seconds, headers, body: BODY });
      rows.push({ suite: "auto", target: `cio/auto, 1 tool (model ${MODEL_MS} ms ×2 + tool ${TOOL_MS} ms)`, connections: c, ...r, overhead_p50: r.p50 - FLOOR_MS, overhead_p99: r.p99 - FLOOR_MS });
      console.log(JSON.stringify(rows.at(-1)));
    }
  } finally {
    await stack.stop();
    await stopProcess(mock);
  }
  const one = rows.find((r) => r.connections === 1) ?? rows[0];
  return { rows, notes: { floor_ms: FLOOR_MS, overhead_p50_ms: one?.overhead_p50, overhead_p99_ms: one?.overhead_p99, target: "overhead p50 <= 5 ms" } };
}

/** The bench tool is registered in the local D1 before the stack starts (the registry's HTTPS transport). */
function registerTool(stateDir: string, url: string) {
  applyMigrations(stateDir);
  const manifest = JSON.stringify({ name: TOOL, description: "Echoes its arguments", parameters: { type: "object", properties: { mode: { type: "string" } } }, timeoutMs: 5000, version: "1" });
  const q = (s: string) => `'${s.replace(/'/g, "''")}'`;
  const sql = `INSERT OR REPLACE INTO tools (name, transport, target, manifest) VALUES (${q(TOOL)}, 'https', ${q(url)}, ${q(manifest)})`;
  wrangler(["d1", "execute", "DB", "--local", "--persist-to", stateDir, "-c", "wrangler.toml", "--command", sql], { quiet: true });
}
