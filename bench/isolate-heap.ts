/**
 * The V8 heap of one Worker's isolate, read through the DevTools protocol (Runtime.getHeapUsage) that
 * workerd serves per Worker when Miniflare's inspector proxy is on. Unlike the workerd process's resident
 * memory, which holds every Worker, Durable Object, local R2 and the runtime itself, this is what the
 * 128 MB Worker limit applies to: the isolate's JavaScript heap (used, including garbage not yet collected,
 * so a peak over-estimates what the work needs) plus the ArrayBuffer memory it holds outside the heap
 * (backingStorageSize, where the runtime reports it).
 */
import WebSocket from "ws";

export interface HeapSample {
  usedMb: number;
  totalMb: number;
  externalMb: number;
  /** Whether the runtime reported ArrayBuffer memory at all (older V8s answer only usedSize and totalSize). */
  externalReported: boolean;
}

export interface HeapSampler {
  /** Samples every `everyMs` until stop(); returns the largest of each figure. */
  start(everyMs: number): void;
  stop(): Promise<{ peak: HeapSample; samples: number }>;
  sample(): Promise<HeapSample>;
  close(): void;
}

export async function isolateHeap(inspectorUrl: string, workerName: string): Promise<HeapSampler> {
  const ws = new WebSocket(`${inspectorUrl.replace(/\/$/, "")}/${workerName}`);
  await new Promise((res, rej) => (ws.once("open", res), ws.once("error", rej)));
  let id = 0;
  const pending = new Map<number, (r: Record<string, number>) => void>();
  ws.on("message", (data) => {
    const msg = JSON.parse(String(data)) as { id?: number; result?: Record<string, number> };
    if (msg.id !== undefined) pending.get(msg.id)?.(msg.result ?? {}), pending.delete(msg.id);
  });
  const mb = (n: number | undefined) => (n ?? 0) / (1024 * 1024);
  const sample = () =>
    new Promise<HeapSample>((res) => {
      const n = ++id;
      pending.set(n, (r) => res({ usedMb: mb(r.usedSize), totalMb: mb(r.totalSize), externalMb: mb(r.backingStorageSize), externalReported: r.backingStorageSize !== undefined }));
      ws.send(JSON.stringify({ id: n, method: "Runtime.getHeapUsage" }));
    });
  const peak: HeapSample = { usedMb: 0, totalMb: 0, externalMb: 0, externalReported: false };
  let samples = 0;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<unknown> = Promise.resolve();
  const record = (s: HeapSample) => {
    samples++;
    peak.usedMb = Math.max(peak.usedMb, s.usedMb);
    peak.totalMb = Math.max(peak.totalMb, s.totalMb);
    peak.externalMb = Math.max(peak.externalMb, s.externalMb);
    peak.externalReported ||= s.externalReported;
  };
  return {
    sample,
    start(everyMs) {
      // One request at a time: the isolate answers between two pieces of work, not during one.
      let busy = false;
      timer = setInterval(() => {
        if (busy) return;
        busy = true;
        inFlight = sample().then(record).finally(() => (busy = false));
      }, everyMs);
    },
    async stop() {
      clearInterval(timer);
      await inFlight;
      return { peak: { ...peak }, samples };
    },
    close: () => ws.close(),
  };
}
