/**
 * `npm run bench`: runs every benchmark suite, prints one table and writes JSON under bench/results/.
 * BENCH_SECONDS sets the length of each measurement (default 10); BENCH_SUITES picks suites by name (default
 * all); BENCH_SOCKETS sets how many session sockets the sessions suite opens (default 1000); BENCH_ROUNDS how
 * many interleaved rounds the passthrough suite runs (default 3, each row is their median).
 */
import { auto } from "./suites/auto.ts";
import { council } from "./suites/council.ts";
import { heavy } from "./suites/heavy.ts";
import { passthrough } from "./suites/passthrough.ts";
import { runnerSuite } from "./suites/runner.ts";
import { sessions } from "./suites/sessions.ts";
import { printTable, writeReport, type Row } from "./lib.ts";

const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const wanted = process.env.BENCH_SUITES?.split(",");
const suites: Record<string, () => Promise<{ rows: Row[]; notes: Record<string, unknown> }>> = {
  passthrough: () => passthrough(seconds, [1, 50], Number(process.env.BENCH_ROUNDS ?? 3)),
  auto: () => auto(seconds, [1, 10]),
  sessions: () => sessions({ sockets: Number(process.env.BENCH_SOCKETS ?? 1000), pings: 2000, turns: 200 }),
  heavy: () => heavy(),
  runner: () => runnerSuite(),
  council: () => council(Number(process.env.BENCH_COUNCIL_RUNS ?? 10), [1, 5]),
};

const rows: Row[] = [];
const notes: Record<string, unknown> = {};
for (const name of wanted ?? Object.keys(suites)) {
  const suite = suites[name];
  if (!suite) throw new Error(`unknown suite '${name}'; known: ${Object.keys(suites).join(", ")}`);
  const r = await suite();
  rows.push(...r.rows);
  notes[name] = r.notes;
}
console.log();
printTable(rows);
console.log(JSON.stringify(notes, null, 2));
console.log(`written to ${writeReport(rows, notes)}`);
