import { describe, expect, it } from "vitest";
import { kthLargest, TopValues } from "../src/jobs/analysis/top-values.js";

describe("TopValues", () => {
  it("counts exactly while there are few distinct values", () => {
    const t = new TopValues(4);
    for (const v of ["a", "b", "a", "c", "a", "b"]) t.add(v);
    expect(t.top(2)).toEqual([{ value: "a", count: 3 }, { value: "b", count: 2 }]);
    expect(t.isExact).toBe(true);
  });

  // Any value more frequent than n/capacity (here 27,000/32 ≈ 840) is kept: hot (5,000) and warm (2,000).
  it("keeps the frequent values among many distinct ones, in bounded memory", () => {
    const t = new TopValues(32);
    for (let i = 0; i < 20_000; i++) {
      t.add(`unique-${i}`);
      if (i % 4 === 0) t.add("hot");
      if (i % 10 === 0) t.add("warm");
    }
    const top = t.top(2);
    expect(top.map((x) => x.value)).toEqual(["hot", "warm"]);
    expect(top[0]!.count).toBeGreaterThanOrEqual(5000);
    expect(t.isExact).toBe(false);
    expect((t as unknown as { counts: Map<string, number> }).counts.size).toBeLessThanOrEqual(64);
  });

  // Space-Saving's guarantees against exact counts, on skewed streams with many ties at the cut-off (the
  // case where which counters a prune keeps matters): no count is under the truth, none is over it by
  // more than the floor, and every value more frequent than the floor is reported.
  it("keeps Space-Saving's bounds on skewed streams with ties", () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (const capacity of [8, 16, 64]) {
      const t = new TopValues(capacity);
      const exact = new Map<string, number>();
      for (let i = 0; i < 30_000; i++) {
        const v = String(Math.floor(random() ** 3 * 2000));
        t.add(v);
        exact.set(v, (exact.get(v) ?? 0) + 1);
      }
      const floor = (t as unknown as { floor: number }).floor;
      const reported = t.top(capacity);
      for (const { value, count } of reported) {
        expect(count).toBeGreaterThanOrEqual(exact.get(value)!);
        expect(count - floor).toBeLessThanOrEqual(exact.get(value)!);
      }
      const frequent = [...exact].filter(([, n]) => n > floor).map(([v]) => v);
      const kept = new Set(t.top(capacity * 2).map((x) => x.value));
      for (const v of frequent) expect(kept).toContain(v);
      expect(floor).toBeGreaterThan(0);
    }
  });
});

describe("kthLargest", () => {
  it("finds the k-th largest of arrays with duplicates, as a descending sort would", () => {
    let seed = 1;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let round = 0; round < 200; round++) {
      const size = 1 + Math.floor(random() * 60);
      const values = Array.from({ length: size }, () => Math.floor(random() * (round % 2 ? 5 : 1000)));
      const sorted = [...values].sort((a, b) => b - a);
      const k = Math.floor(random() * size);
      expect(kthLargest(Float64Array.from(values), size, k)).toBe(sorted[k]);
    }
  });
});
