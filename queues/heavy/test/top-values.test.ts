import { describe, expect, it } from "vitest";
import { TopValues } from "../src/jobs/analysis/top-values.js";

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
});
