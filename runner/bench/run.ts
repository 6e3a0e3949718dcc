/**
 * `node bench/run.ts [--rows=N] [--url=postgres://…]` — runs both modes and prints a table and JSON.
 * With --mode=direct|runner it runs one mode in this process and prints one JSON line (used by benchPgTunnel).
 */
import { parseArgs } from "node:util";
import { benchDirect, benchPgTunnel, benchRunner } from "./pg-stream.ts";

const { values } = parseArgs({
  options: {
    mode: { type: "string" },
    rows: { type: "string", default: "1000000" },
    url: { type: "string", default: process.env.CIO_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres" },
  },
});

if (values.mode === "direct" || values.mode === "runner") {
  const result = values.mode === "direct" ? await benchDirect(values.url) : await benchRunner(values.url);
  console.log(JSON.stringify(result));
} else {
  const results = await benchPgTunnel({ url: values.url, rows: Number(values.rows) });
  for (const r of results) console.log(`${r.mode.padEnd(7)} ${r.rows} rows in ${r.ms} ms: ${r.rowsPerSec} rows/s, peak RSS ${r.peakRssMb} MB`);
  const [direct, runner] = results;
  if (direct && runner) console.log(`runner/direct throughput: ${((runner.rowsPerSec / direct.rowsPerSec) * 100).toFixed(1)}%`);
  console.log(JSON.stringify(results));
}
