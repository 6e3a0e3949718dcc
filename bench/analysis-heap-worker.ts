/**
 * Runs in a Node worker thread whose V8 heap is capped (see analysis-heap.ts): the queue consumer's CSV
 * analysis code, fed from a local file range by range as the job feeds it from R2, sampling the heap after
 * every range (where the job reports progress), so no range's peak is missed.
 */
import { open } from "node:fs/promises";
import { getHeapStatistics } from "node:v8";
import { parentPort, workerData } from "node:worker_threads";
import { Analyzer } from "../queues/heavy/src/jobs/analysis/analyzer.ts";
import { readCsvRanges } from "../queues/heavy/src/jobs/analysis/csv-reader.ts";
import { heavySettings } from "../queues/heavy/src/settings.ts";

const { path, size, params } = workerData as { path: string; size: number; params: ConstructorParameters<typeof Analyzer>[0] };
const s = heavySettings({});
const analyzer = new Analyzer(params, { topCapacity: s.CIO_ANALYSIS_TOP_CAPACITY, topN: s.CIO_ANALYSIS_TOP_N, maxGroups: s.CIO_ANALYSIS_MAX_GROUPS, maxColumns: s.CIO_ANALYSIS_MAX_COLUMNS });
const file = await open(path);
const mb = (n: number) => n / (1024 * 1024);
const idle = getHeapStatistics();
let peakUsed = 0;
let peakTotal = 0;
let peakExternal = 0;
let samples = 0;
const started = performance.now();
await readCsvRanges(
  {
    size,
    // A new buffer per range, as R2's arrayBuffer() gives the Worker one.
    read: async (offset, length) => {
      const buf = new Uint8Array(length ?? size);
      const { bytesRead } = await file.read(buf, 0, buf.byteLength, offset);
      return buf.subarray(0, bytesRead);
    },
  },
  {
    step: s.CIO_ANALYSIS_READ_BYTES,
    delimiter: ",",
    maxRowChars: s.CIO_ANALYSIS_MAX_ROW_CHARS,
    onRow: (row) => analyzer.row(row),
    onProgress: () => {
      const h = getHeapStatistics();
      samples++;
      peakUsed = Math.max(peakUsed, h.used_heap_size);
      peakTotal = Math.max(peakTotal, h.total_heap_size);
      peakExternal = Math.max(peakExternal, h.external_memory);
    },
  },
);
const result = analyzer.result("csv");
await file.close();
parentPort!.postMessage({
  rows: result.rows,
  seconds: (performance.now() - started) / 1000,
  idleUsedMb: mb(idle.used_heap_size),
  peakUsedMb: mb(peakUsed),
  peakTotalMb: mb(peakTotal),
  peakExternalMb: mb(peakExternal),
  samples,
});
