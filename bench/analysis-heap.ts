/**
 * Whether the CSV analysis fits the 128 MB Worker limit, shown by running it with less: the consumer's
 * analysis code (bundled from queues/heavy/src, the same modules the Worker runs) in a Node worker thread
 * whose V8 heap is capped at 128 MB (old generation 112 MB + young generation 16 MB), reading the file in
 * the job's ranges. V8 ends the thread if the heap outgrows the cap, so a completed run is the proof; the
 * peaks are sampled after every range. Node's V8 is close to workerd's but not the same build, and the
 * Worker's own code and request state add a few MB (the consumer isolate idles at ~8 MB in the bench).
 */
import { mkdtempSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { ROOT } from "./lib.ts";

export const HEAP_CAP_MB = { old: 112, young: 16 };

export interface AnalysisHeap {
  rows: number;
  seconds: number;
  idleUsedMb: number;
  peakUsedMb: number;
  peakTotalMb: number;
  peakExternalMb: number;
  samples: number;
}

export async function analysisHeap(path: string, size: number, params: Record<string, unknown>): Promise<AnalysisHeap> {
  const script = await bundleWorker();
  const worker = new Worker(script, { workerData: { path, size, params }, resourceLimits: { maxOldGenerationSizeMb: HEAP_CAP_MB.old, maxYoungGenerationSizeMb: HEAP_CAP_MB.young } });
  return new Promise((res, rej) => {
    worker.once("message", (m: AnalysisHeap) => res(m));
    worker.once("error", rej);
    worker.once("exit", (code) => rej(new Error(`the analysis thread exited with ${code} before finishing (over the heap cap?)`)));
  });
}

/** esbuild as wrangler ships it, so the bundle resolves the Worker's imports the way wrangler's does. */
async function bundleWorker(): Promise<string> {
  const fromWrangler = createRequire(join(ROOT, "node_modules/wrangler/package.json"));
  const esbuild = (await import(fromWrangler.resolve("esbuild"))) as typeof import("esbuild");
  const outfile = join(mkdtempSync(join(tmpdir(), "cio-bench-heap-")), "analysis-heap-worker.mjs");
  await esbuild.build({ entryPoints: [join(ROOT, "bench/analysis-heap-worker.ts")], bundle: true, platform: "node", format: "esm", outfile, logLevel: "warning" });
  return outfile;
}
