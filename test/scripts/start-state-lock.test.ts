/**
 * One `npm start` per state folder: a second start on another PORT with the same CIO_STATE_DIR ran a second
 * workerd on the same D1 and Durable Object files (both READY). The second must refuse, naming the first; a
 * lock left by a start that is gone is taken over.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { LOCK_FILE, lockStateDir } from "../../scripts/lib/state-lock.ts";
import { eventually } from "../support/eventually.ts";
import { groupGone } from "../support/process-group.ts";
import { freePort } from "../support/stack.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const cleanup: (() => void)[] = [];
afterEach(() => cleanup.splice(0).forEach((f) => f()));

function tmpState(): string {
  const dir = mkdtempSync(join(tmpdir(), "cio-lock-"));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

interface Started {
  child: ChildProcess;
  /** Everything printed so far (stdout and stderr). */
  out: () => string;
  exited: Promise<number | null>;
}

/** scripts/start.ts on a free port, leading a process group of its own so that all it starts can be stopped. */
async function start(state: string): Promise<Started> {
  const child = spawn(process.execPath, [join(ROOT, "scripts/start.ts")], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(await freePort()), CIO_STATE_DIR: state },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((res) => child.on("exit", res));
  cleanup.push(() => {
    try {
      process.kill(-child.pid!, "SIGKILL"); // whatever is left of it, if the test failed half-way
    } catch {
      /* gone */
    }
  });
  return { child, out: () => out, exited };
}

describe("npm start on a state folder another start uses", () => {
  it("exits 1 naming the running start, and the folder is free again once that one stops", { timeout: 60_000 }, async () => {
    const state = tmpState();
    const first = await start(state);
    // Printed once the folder is locked (and the dev credentials written): the first start has it.
    expect(await eventually(first.out, (o) => o.includes("applying D1 migrations") || first.child.exitCode !== null, 30_000), first.out()).toContain("applying D1 migrations");

    const second = await start(state);
    // Until it exits, or goes on to the shared D1 (then the cleanup stops it before it runs wrangler dev).
    await eventually(second.out, (o) => second.child.exitCode !== null || o.includes("applying D1 migrations"), 30_000);
    expect(second.out()).not.toContain("applying D1 migrations");
    expect(await second.exited).toBe(1);
    expect(second.out()).toContain(`The state folder ${state} is in use by the npm start running as pid ${first.child.pid}`);
    expect(readFileSync(join(state, LOCK_FILE), "utf8").trim()).toBe(String(first.child.pid));

    // Ctrl-C (to its process group, as a terminal sends it) during startup: the first one stops and gives the folder back.
    process.kill(-first.child.pid!, "SIGINT");
    await first.exited;
    expect(existsSync(join(state, LOCK_FILE))).toBe(false);
    expect(await groupGone(first.child.pid!)).toEqual([]);
  });
});

describe("the state folder lock", () => {
  it("is taken over from a start that is gone, and given back by its holder only", () => {
    const state = tmpState();
    const gone = spawnSync(process.execPath, ["-e", ""]).pid; // exited: its lock is stale
    writeFileSync(join(state, LOCK_FILE), `${gone}\n`);
    const release = lockStateDir(state);
    expect(readFileSync(join(state, LOCK_FILE), "utf8").trim()).toBe(String(process.pid));
    expect(() => lockStateDir(state, gone)).toThrow(`in use by the npm start running as pid ${process.pid}`);
    release();
    expect(existsSync(join(state, LOCK_FILE))).toBe(false);

    // A holder that lost its lock to a takeover leaves the new holder's lock alone.
    const stale = lockStateDir(state, gone);
    const current = lockStateDir(state);
    stale();
    expect(readFileSync(join(state, LOCK_FILE), "utf8").trim()).toBe(String(process.pid));
    current();
  });
});
