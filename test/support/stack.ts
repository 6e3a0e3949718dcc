/**
 * Starts the real local stack (`npm start`'s script) on a free port with its own state folder, for the
 * end-to-end tests and the benchmarks. Resolves once the script prints READY.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "../..");

export interface Stack {
  url: string;
  apiKey: string;
  adminToken: string;
  stateDir: string;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => res(port));
    });
    s.on("error", rej);
  });
}

export async function startStack(env: Record<string, string> = {}, timeoutMs = 180_000): Promise<Stack> {
  const port = await freePort();
  const stateDir = mkdtempSync(join(tmpdir(), "cio-stack-"));
  const child = spawn(process.execPath, [join(ROOT, "scripts/start.ts")], {
    cwd: ROOT,
    env: { ...process.env, ...env, PORT: String(port), CIO_STATE_DIR: stateDir, CIO_LOG_LEVEL: env.CIO_LOG_LEVEL ?? "warn" },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let output = "";
  child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
  const url = await new Promise<string>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`stack not ready in ${timeoutMs} ms:\n${output.slice(-4000)}`)), timeoutMs);
    child.stdout!.on("data", (d: Buffer) => {
      output += d.toString();
      const m = /READY (http:\/\/\S+)/.exec(output);
      if (m) clearTimeout(timer), res(m[1]!);
    });
    child.on("exit", (code) => rej(new Error(`stack exited with ${code}:\n${output.slice(-4000)}`)));
  });
  const creds = JSON.parse(readFileSync(join(stateDir, "dev-credentials.json"), "utf8")) as { apiKey: string; adminToken: string };
  return { url, ...creds, stateDir, stop: () => stop(child) };
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((res) => {
    if (child.exitCode !== null) return res();
    child.on("exit", () => res());
    child.kill("SIGINT");
    setTimeout(() => {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        /* already gone */
      }
    }, 8000).unref();
  });
}
