/**
 * `npm run bench`: runs every benchmark suite, prints one table and writes JSON under bench/results/.
 * BENCH_SECONDS sets the length of each measurement (default 10); BENCH_SUITES picks suites by name.
 */
import { auto } from "./suites/auto.ts";
import { heavy } from "./suites/heavy.ts";
import { passthrough } from "./suites/passthrough.ts";
import { printTable, writeReport, type Row } from "./lib.ts";

const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const wanted = (process.env.BENCH_SUITES ?? "passthrough,auto,heavy").split(",");
const suites: Record<string, () => Promise<{ rows: Row[]; notes: Record<string, unknown> }>> = {
  passthrough: () => passthrough(seconds, [1, 50]),
  auto: () => auto(seconds, [1, 10]),
  heavy: () => heavy(),
};

const rows: Row[] = [];
const notes: Record<string, unknown> = {};
for (const name of wanted) {
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
