import { describe, expect, it } from "vitest";
import { readRanges, type RangeSource } from "../src/jobs/analysis/range-reader.js";

/** An in-memory object standing in for R2 that records the order of reads and of the caller's work. */
function source(bytes: Uint8Array, log: string[], failAt?: number): RangeSource {
  return {
    size: bytes.byteLength,
    read: async (offset, length) => {
      log.push(`read ${offset}${length === undefined ? " whole" : ""}`);
      await Promise.resolve();
      if (offset === failAt) throw new Error("R2 unavailable");
      return bytes.slice(offset, length === undefined ? undefined : offset + length);
    },
  };
}

const data = Uint8Array.from({ length: 10 }, (_, i) => i);

describe("readRanges", () => {
  it("requests the next range before the caller works on the current one, and hands over every byte in order", async () => {
    const log: string[] = [];
    const seen: number[] = [];
    const stats = await readRanges(source(data, log), 4, (bytes, end) => {
      log.push(`use ..${end}`);
      seen.push(...bytes);
    });
    expect(seen).toEqual([...data]);
    expect(log).toEqual(["read 0", "read 4", "use ..4", "read 8", "use ..8", "use ..10"]);
    expect(stats.ranges).toBe(3);
  });

  it("stops after a short range even if the object claimed to be larger", async () => {
    const log: string[] = [];
    const src = { ...source(data, log), size: 100 };
    await readRanges(src, 4, () => undefined);
    expect(log.filter((l) => l.startsWith("read"))).toEqual(["read 0", "read 4", "read 8"]);
  });

  it("reads a file no larger than one range whole (a range on an empty object is not satisfiable)", async () => {
    const log: string[] = [];
    await readRanges(source(new Uint8Array(0), log), 4, () => undefined);
    await readRanges(source(data.slice(0, 4), log), 4, () => undefined);
    expect(log).toEqual(["read 0 whole", "read 0 whole"]);
  });

  it("reports the caller's failure, not the abandoned prefetch's", async () => {
    const log: string[] = [];
    const unhandled: unknown[] = [];
    const onUnhandled = (e: PromiseRejectionEvent) => unhandled.push(e.reason);
    addEventListener("unhandledrejection", onUnhandled);
    try {
      await expect(readRanges(source(data, log, 4), 4, () => Promise.reject(new Error("bad row")))).rejects.toThrow("bad row");
      await new Promise((r) => setTimeout(r, 10));
    } finally {
      removeEventListener("unhandledrejection", onUnhandled);
    }
    expect(log).toEqual(["read 0", "read 4"]);
    expect(unhandled).toEqual([]);
  });

  it("fails with R2's error when a range cannot be read", async () => {
    await expect(readRanges(source(data, [], 8), 4, () => undefined)).rejects.toThrow("R2 unavailable");
  });
});
