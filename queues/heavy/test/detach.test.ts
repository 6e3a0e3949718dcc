import { describe, expect, it } from "vitest";
import { detach } from "../src/jobs/analysis/detach.js";

// Whether V8 still shares the parent's memory cannot be observed from a test in workerd (no heap
// inspection); the measurement is in detach.ts. This checks that the copy is the same text.
describe("detach", () => {
  it("returns the same text, short or long, ASCII or not", () => {
    const parent = "x".repeat(1000) + "ünïcødé value that is long enough to be a view, 😀" + "y".repeat(1000);
    const long = parent.slice(1000, parent.length - 1000);
    for (const s of ["", "a", "twelve chars", "thirteen char", long, parent]) expect(detach(s)).toBe(s);
  });
});
