/**
 * CPU seconds (user + system, from /proc) spent by processes during a measurement, grouped by process name.
 * On a two-core machine every stage of a pipeline competes for the same CPUs, so where the CPU goes is what
 * decides throughput; this is the per-stage profile the benches report beside rows/s.
 */
import { readdirSync, readFileSync } from "node:fs";

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

interface Proc {
  pid: number;
  ppid: number;
  comm: string;
  /** The command line, e.g. to tell wrangler's proxy workerd from the one running the Workers. */
  cmdline: string;
  ticks: number;
}

function readProcs(): Proc[] {
  const out: Proc[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      // comm is in parentheses and may contain spaces; the fields after it are space-separated.
      const close = stat.lastIndexOf(")");
      const comm = stat.slice(stat.indexOf("(") + 1, close);
      const f = stat.slice(close + 2).split(" ");
      const cmdline = readFileSync(`/proc/${name}/cmdline`, "utf8").replaceAll("\0", " ");
      out.push({ pid: Number(name), ppid: Number(f[1]), comm, cmdline, ticks: Number(f[11]) + Number(f[12]) });
    } catch {
      // the process ended between readdir and read
    }
  }
  return out;
}

/** This process's descendants plus `extra` pids (e.g. a database backend), by pid. */
function watched(extra: readonly number[]): Map<number, Proc> {
  const all = readProcs();
  const mine = new Set([process.pid, ...extra]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of all) if (mine.has(p.ppid) && !mine.has(p.pid)) mine.add(p.pid), (grew = true);
  }
  return new Map(all.filter((p) => mine.has(p.pid)).map((p) => [p.pid, p]));
}

/** CPU seconds (user + system) that `pids` have spent so far; a process that has ended counts as zero. */
export function cpuSecondsOf(pids: readonly number[]): number {
  const wanted = new Set(pids);
  return readProcs().filter((p) => wanted.has(p.pid)).reduce((sum, p) => sum + p.ticks, 0) / TICKS_PER_SECOND;
}

/** Runs `start` and returns what it returned with the pids of the processes under this one that it started. */
export async function startedBy<T>(start: () => Promise<T>): Promise<[T, number[]]> {
  const before = new Set(watched([]).keys());
  const value = await start();
  return [value, [...watched([]).keys()].filter((pid) => !before.has(pid))];
}

/** This process's descendants, e.g. to find the workerd processes Miniflare started. */
export const descendants = (): { pid: number; comm: string }[] => [...watched([]).values()].filter((p) => p.pid !== process.pid);

/** Starts counting; `stop()` returns CPU seconds per process name over the interval (names given by `label`). */
export function cpuMeter(label: (p: { pid: number; comm: string; cmdline: string }) => string = (p) => p.comm) {
  const before = watched([]);
  return {
    stop(extra: readonly number[] = []): Record<string, number> {
      const after = watched(extra);
      const seconds: Record<string, number> = {};
      for (const p of after.values()) {
        // A process that started meanwhile (or an extra one first seen now) counts from zero.
        const spent = (p.ticks - (before.get(p.pid)?.ticks ?? 0)) / TICKS_PER_SECOND;
        if (spent <= 0) continue;
        const k = label(p);
        seconds[k] = +((seconds[k] ?? 0) + spent).toFixed(2);
      }
      return seconds;
    },
  };
}
