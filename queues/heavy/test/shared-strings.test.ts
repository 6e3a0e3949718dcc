import { describe, expect, it } from "vitest";
import { SharedStrings } from "../src/jobs/analysis/shared-strings.js";

describe("SharedStrings", () => {
  it("gives back every string, across block boundaries, including empty, non-Latin-1 and block-sized ones", () => {
    const table = new SharedStrings(1 << 24);
    const strings = Array.from({ length: 30_000 }, (_, i) => (i % 7 === 0 ? "" : i % 11 === 0 ? `中文${i}` : `s${i}-`.repeat(1 + (i % 5))));
    strings.splice(12_345, 0, "x".repeat(200_000)); // larger than a block: a block of its own
    for (const s of strings) table.push(s);
    strings.forEach((s, i) => expect(table.get(i)).toBe(s));
  });

  it("answers an index it does not have with an empty string", () => {
    const table = new SharedStrings(1024);
    table.push("a");
    expect([table.get(1), table.get(-1), table.get(Number("x"))]).toEqual(["", "", ""]);
  });

  it("refuses strings past its bound as xlsx_too_large, each string counting two characters more", () => {
    const table = new SharedStrings(1024);
    for (let i = 0; i < 102; i++) table.push("12345678"); // 102 × (8 + 2) = 1020
    expect(() => table.ensureRoom(2)).not.toThrow();
    expect(() => table.push("123")).toThrow(expect.objectContaining({ code: "xlsx_too_large" }));
  });
});
