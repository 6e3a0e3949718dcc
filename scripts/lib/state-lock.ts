/**
 * One `npm start` per state folder. Two starts on one folder (two terminals, a PORT set in one) each ran a
 * workerd on the same D1 and Durable Object files: every object existed twice, rate limits counted twice, and
 * both wrote the same SQLite files. The folder's lock is a file holding the pid of the start that has it,
 * created exclusively (`wx`); a lock whose process is gone (killed with SIGKILL, a crash) is taken over.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const LOCK_FILE = "npm-start.lock";

/**
 * Takes `dir` for process `pid` and returns what gives it back (which leaves a lock another process has taken
 * alone). Throws, naming the running start's pid, while the process holding the lock lives.
 */
export function lockStateDir(dir: string, pid = process.pid): () => void {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, LOCK_FILE);
  for (;;) {
    try {
      writeFileSync(file, `${pid}\n`, { flag: "wx" });
      return () => {
        if (holderOf(file) === pid) rmSync(file, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const holder = holderOf(file);
    if (holder !== undefined && holder !== pid && isAlive(holder)) {
      throw new Error(
        `The state folder ${dir} is in use by the npm start running as pid ${holder}: stop that one first, or set CIO_STATE_DIR to another folder. (If no npm start is running, delete ${file}.)`,
      );
    }
    // Stale (or holding no pid): taken over by removing it and creating it again, exclusively, above. Two starts
    // in the very same instant are not told apart: this guards against a second terminal, not a race.
    rmSync(file, { force: true });
  }
}

/** The pid a lock file holds; undefined when it is gone or holds no pid. */
function holderOf(file: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
  return /^\d+\s*$/.test(text) ? Number(text) : undefined;
}

/** Signal 0 checks that the process exists; EPERM means it does, under another user. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
