/**
 * `npm start` must not leave wrangler and workerd behind (holding the port) when it gives up or is stopped
 * during startup, nor claim the stack is running. A 1 s wait makes the readiness failure certain: wrangler
 * takes longer than that to bundle and serve the Workers.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { eventually } from "../support/eventually.ts";
import { groupGone } from "../support/process-group.ts";
import { freePort } from "../support/stack.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const stateDirs: string[] = [];
afterEach(() => stateDirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  group: number;
  port: number;
}

/** Runs scripts/start.ts; `onGroup` is called once it reports wrangler's process group. */
async function runStart(env: Record<string, string>, onGroup: (pid: number, group: number) => void = () => {}): Promise<Run> {
  const port = await freePort();
  const stateDir = mkdtempSync(join(tmpdir(), "cio-start-"));
  stateDirs.push(stateDir);
  const child = spawn(process.execPath, [join(ROOT, "scripts/start.ts")], {
    cwd: ROOT,
    env: { ...process.env, ...env, PORT: String(port), CIO_STATE_DIR: stateDir },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  let group = 0;
  child.stdout.on("data", (d: Buffer) => {
    stdout += d.toString();
    const m = /wrangler process group (\d+)/.exec(stdout);
    if (m && !group) onGroup(child.pid!, (group = Number(m[1])));
  });
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((res) => child.on("exit", res));
  return { code, stdout, stderr, group, port };
}

const portFreed = (port: number) => eventually(() => portIsFree(port), (free) => free);

function portIsFree(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = createServer();
    s.once("error", () => res(false));
    s.listen(port, "127.0.0.1", () => s.close(() => res(true)));
  });
}

describe("npm start", () => {
  it("stops wrangler's whole process group and exits non-zero when the stack is not healthy in time", async () => {
    const run = await runStart({ CIO_START_TIMEOUT_S: "1" });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("did not become healthy within 1 s");
    expect(run.stdout).not.toContain("READY");
    expect(run.group).toBeGreaterThan(0);
    expect(await groupGone(run.group)).toEqual([]);
    expect(await portFreed(run.port)).toBe(true);
  });

  it("prints no banner when stopped during startup, and stops what it started", async () => {
    const run = await runStart({}, (pid) => process.kill(pid, "SIGINT"));
    expect(run.code).toBe(0);
    expect(run.stdout).not.toContain("READY");
    expect(run.stdout).not.toContain("is running at");
    expect(run.stderr).not.toContain("did not become healthy");
    expect(await groupGone(run.group)).toEqual([]);
    expect(await portFreed(run.port)).toBe(true);
  });
});
