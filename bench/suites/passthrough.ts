/**
 * Passthrough: the same non-streamed chat request through our gateway (the full local stack), straight
 * to the mock model, and through Portkey's open-source gateway in front of the same mock.
 */
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBareGatewayShape, startBareProxy, startMiniflareStack } from "../../scripts/lib/miniflare-stack.ts";
import { cpuSecondsOf, startedBy } from "../cpu-time.ts";
import { ROOT, benchKey, load, pinServers, startProcess, stopProcess, type Row } from "../lib.ts";

const BODY = JSON.stringify({ model: "mock-model", messages: [{ role: "user", content: "Say hello in five words." }] });

type Target = { target: string; url: string; headers: Record<string, string>; pids: number[] };
type Run = Awaited<ReturnType<typeof measure>>;

export async function passthrough(seconds: number, connections: number[], rounds: number): Promise<{ rows: Row[]; notes: Record<string, unknown> }> {
  const mockPort = 18_000 + Math.floor(Math.random() * 1000);
  const [mock, mockPids] = await startedBy(() => startProcess(process.execPath, [join(ROOT, "test/mock-upstream/server.ts"), "--port", String(mockPort), "--quiet"], /listening/));
  const mockUrl = `http://127.0.0.1:${mockPort}/v1`;
  const portkeyPort = mockPort + 1000;
  const [portkey, portkeyPids] = await startedBy(() => startProcess(process.execPath, [join(ROOT, "node_modules/@portkey-ai/gateway/build/start-server.js"), `--port=${portkeyPort}`], /running|listening|port/i));
  const vars = { CIO_UPSTREAM_BASE_URL: mockUrl, CIO_UPSTREAM_MODELS: "mock-model", CIO_LOG_LEVEL: "error" };
  // The stack's local state (D1, Durable Object storage) in memory: on this VM's disk every storage commit
  // (one per answer, the rate limiter booking usage) is an fsync through the virtual disk on workerd's one
  // thread, which production's replicated storage does not put there. The same stack with its state on
  // disk runs beside it, so the difference stays visible.
  const [stack, stackPids] = await startedBy(() => startMiniflareStack({ port: portkeyPort + 1000, stateDir: mkdtempSync(join(memoryDir(), "cio-bench-")), vars }));
  const [onDisk, onDiskPids] = await startedBy(() => startMiniflareStack({ port: portkeyPort + 1001, stateDir: mkdtempSync(join(tmpdir(), "cio-bench-")), vars }));
  const [bare, barePids] = await startedBy(() => startBareProxy(portkeyPort + 2000, `${mockUrl}/chat/completions`));
  const [shape, shapePids] = await startedBy(() => startBareGatewayShape(portkeyPort + 2100, `${mockUrl}/chat/completions`));
  const notPinned = pinServers([portkey]);
  const rows: Row[] = [];
  try {
    const key = await benchKey(stack.url, stack.adminToken);
    const onDiskKey = await benchKey(onDisk.url, onDisk.adminToken);
    // `pids`: the server's processes, whose CPU time per request is reported beside the rates.
    const targets: Target[] = [
      { target: "mock direct", url: `${mockUrl}/chat/completions`, headers: {}, pids: mockPids },
      { target: "bare proxy Worker (runtime floor)", url: bare.url, headers: {}, pids: barePids },
      { target: "bare gateway shape (Worker, DO, RPC, Worker)", url: shape.url, headers: {}, pids: shapePids },
      { target: "cio-edge gateway", url: `${stack.url}/v1/chat/completions`, headers: { authorization: `Bearer ${key}` }, pids: stackPids },
      { target: "cio-edge gateway, state on disk", url: `${onDisk.url}/v1/chat/completions`, headers: { authorization: `Bearer ${onDiskKey}` }, pids: onDiskPids },
      {
        target: "portkey gateway",
        url: `http://127.0.0.1:${portkeyPort}/v1/chat/completions`,
        headers: { authorization: "Bearer mock", "x-portkey-provider": "openai", "x-portkey-custom-host": mockUrl },
        pids: portkeyPids,
      },
    ];
    for (const t of targets) await load({ url: t.url, connections: 10, seconds: 2, headers: t.headers, body: BODY }); // warm-up
    // Rounds go through every target in turn, so a change in the host's load hits all of them alike; each row
    // is the median of its rounds, with every round's rate beside it.
    for (const c of connections) {
      const runs = new Map(targets.map((t) => [t, [] as Run[]]));
      for (let round = 0; round < rounds; round++) {
        for (const t of targets) {
          runs.get(t)!.push(await measure(t, c, seconds));
          console.log(JSON.stringify({ target: t.target, connections: c, round, ...runs.get(t)!.at(-1) }));
        }
      }
      for (const t of targets) rows.push({ suite: "passthrough", target: t.target, connections: c, ...medianOf(runs.get(t)!) });
    }
  } finally {
    await stack.stop();
    await onDisk.stop();
    await bare.stop();
    await shape.stop();
    await stopProcess(portkey);
    await stopProcess(mock);
  }
  return { rows, notes: { ...verdict(rows, Math.max(...connections)), cpus: notPinned ?? "each server on the last CPU; load generator and mock on the others" } };
}

/** A folder in memory (tmpfs) where the host has one, else the temporary folder. */
function memoryDir(): string {
  return existsSync("/dev/shm") ? "/dev/shm" : tmpdir();
}

async function measure(t: Target, connections: number, seconds: number) {
  const cpuBefore = cpuSecondsOf(t.pids);
  const r = await load({ url: t.url, connections, seconds, headers: t.headers, body: BODY });
  const served = r.rps * seconds;
  return { ...r, server_cpu_us_per_req: served ? Math.round(((cpuSecondsOf(t.pids) - cpuBefore) * 1e6) / served) : 0 };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Each figure's median over the rounds (errors summed), and every round's rate. */
function medianOf(runs: Run[]) {
  return {
    rps: median(runs.map((r) => r.rps)),
    p50: median(runs.map((r) => r.p50)),
    p99: median(runs.map((r) => r.p99)),
    errors: runs.reduce((n, r) => n + r.errors, 0),
    non2xx: runs.reduce((n, r) => n + r.non2xx, 0),
    server_cpu_us_per_req: median(runs.map((r) => r.server_cpu_us_per_req)),
    rps_rounds: runs.map((r) => Math.round(r.rps)).join("/"),
  };
}

function verdict(rows: Row[], c: number) {
  const ours = rows.find((r) => r.target === "cio-edge gateway" && r.connections === c);
  const portkey = rows.find((r) => r.target === "portkey gateway" && r.connections === c);
  const floor = rows.find((r) => r.target.startsWith("bare proxy") && r.connections === c);
  const shape = rows.find((r) => r.target.startsWith("bare gateway shape") && r.connections === c);
  const onDisk = rows.find((r) => r.target === "cio-edge gateway, state on disk" && r.connections === c);
  if (!ours || !portkey || !floor || !shape || !onDisk) return {};
  const cpu = (r: Row) => Number(r.server_cpu_us_per_req);
  return {
    [`rps_ratio_vs_bare_worker_at_${c}`]: +(ours.rps / floor.rps).toFixed(2),
    [`bare_worker_rps_ratio_vs_portkey_at_${c}`]: +(floor.rps / portkey.rps).toFixed(2),
    [`rps_ratio_vs_bare_gateway_shape_at_${c}`]: +(ours.rps / shape.rps).toFixed(2),
    [`bare_gateway_shape_rps_ratio_vs_portkey_at_${c}`]: +(shape.rps / portkey.rps).toFixed(2),
    [`rps_ratio_vs_portkey_at_${c}`]: +(ours.rps / portkey.rps).toFixed(2),
    [`p99_ratio_vs_portkey_at_${c}`]: +(ours.p99 / portkey.p99).toFixed(2),
    [`state_on_disk_rps_ratio_vs_portkey_at_${c}`]: +(onDisk.rps / portkey.rps).toFixed(2),
    // CPU time per request moves far less with the host's load than requests a second do.
    [`server_cpu_per_req_vs_bare_gateway_shape_at_${c}`]: +(cpu(ours) / cpu(shape)).toFixed(2),
    [`server_cpu_per_req_vs_portkey_at_${c}`]: +(cpu(ours) / cpu(portkey)).toFixed(2),
    target: "rps ratio >= 1.5 and p99 ratio <= 0.5",
  };
}
