/**
 * `npm start` checks PORT before it starts anything: a port held by an earlier stack used to be reported as
 * this start's READY (the old stack answered the health check), and a bad PORT reached wrangler.
 */
import { spawn } from "node:child_process";
import { createServer as createHttpServer } from "node:http";
import { createServer } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parsePort, portIsFree } from "../../scripts/lib/local-stack.ts";
import { freePort } from "../support/stack.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const cleanup: (() => void)[] = [];
afterEach(() => cleanup.splice(0).forEach((f) => f()));

/**
 * Runs scripts/start.ts with PORT. A start that gets past the checks is stopped (SIGINT stops what it started)
 * once it prints READY or after 60 s, so a failing test ends too.
 */
async function runStart(port: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const stateDir = mkdtempSync(join(tmpdir(), "cio-start-"));
  cleanup.push(() => rmSync(stateDir, { recursive: true, force: true }));
  const child = spawn(process.execPath, [join(ROOT, "scripts/start.ts")], {
    cwd: ROOT,
    env: { ...process.env, PORT: port, CIO_STATE_DIR: stateDir, CIO_START_TIMEOUT_S: "30" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  const stop = () => child.kill("SIGINT");
  const timer = setTimeout(stop, 60_000);
  child.stdout.on("data", (d: Buffer) => {
    stdout += d.toString();
    if (stdout.includes("READY")) stop();
  });
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((res) => child.on("exit", res));
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** Something healthy already on a port, like a stack from an earlier `npm start`. */
async function healthyServerOn(): Promise<number> {
  const server = createHttpServer((_req, res) => res.end("{}"));
  await new Promise<void>((res) => server.listen(0, "127.0.0.1", res));
  cleanup.push(() => server.close());
  return (server.address() as { port: number }).port;
}

describe("npm start checks PORT first", () => {
  it("exits 1 with a clear message, before starting anything, when the port is in use", async () => {
    const port = await healthyServerOn();
    const run = await runStart(String(port));
    expect(run.stderr).toContain(`Port ${port} is already in use on 127.0.0.1`);
    expect(run.code).toBe(1);
    expect(run.stdout).not.toContain("READY");
    expect(run.stdout).not.toContain("applying D1 migrations");
  });

  it.each(["abc", "0", "65536", "80.5", ""])("exits 1 with a clear message on PORT=%j", async (port) => {
    const run = await runStart(port);
    expect(run.stderr.trim()).toBe(`PORT must be a whole number from 1 to 65535, not "${port}"`);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
  });
});

describe("the port helpers", () => {
  it("parsePort defaults to 8787 and takes 1..65535 only", () => {
    expect(parsePort(undefined)).toBe(8787);
    expect(parsePort("1")).toBe(1);
    expect(parsePort("65535")).toBe(65535);
    for (const bad of ["", " 80", "-1", "0x50", "1e3", "65536"]) expect(() => parsePort(bad), bad).toThrow(/PORT must be/);
  });

  it("portIsFree is false while something listens on 127.0.0.1:port, true once it stops", async () => {
    const port = await freePort();
    expect(await portIsFree(port)).toBe(true);
    const holder = createServer();
    await new Promise<void>((res) => holder.listen(port, "127.0.0.1", res));
    expect(await portIsFree(port)).toBe(false);
    await new Promise((res) => holder.close(res));
    expect(await portIsFree(port)).toBe(true);
  });
});
