import { describe, expect, it } from "vitest";
import { ColumnStats } from "../src/jobs/analysis/column-stats.js";

function stats(values: string[]) {
  const c = new ColumnStats("c", 64);
  for (const v of values) c.add(v);
  return c.summary(20);
}

describe("ColumnStats", () => {
  // Canonical integers are counted under their number, other spellings under their text: the two must
  // never merge, and the reported value must be the text as written.
  it("keeps integers written differently apart in top values and reports them as written", () => {
    const s = stats(["7", "7", "007", "+7", "-0", "0", "-12", "-12", "123456789012345", "1234567890123456789"]);
    expect(s.type).toBe("integer");
    const top = Object.fromEntries(s.top_values.map((t) => [t.value, t.count]));
    expect(top).toEqual({ "7": 2, "007": 1, "+7": 1, "-0": 1, "0": 1, "-12": 2, "123456789012345": 1, "1234567890123456789": 1 });
    expect(s.min).toBe(-12);
    expect(s.max).toBe(1234567890123456789);
  });

  it("sums integers exactly from their digits, and decimals through Number", () => {
    const s = stats(["999999999999999", "-999999999999999", "1", "2.5", "-0.5", "1e3", "+4"]);
    expect(s).toMatchObject({ type: "number", min: -999999999999999, max: 999999999999999, nulls: 0 });
    expect(s.mean).toBeCloseTo((1 + 2.5 - 0.5 + 1000 + 4) / 7, 10);
  });

  it("tells numbers, booleans, dates and text apart", () => {
    expect(stats(["1", "2", ""]).type).toBe("integer");
    expect(stats(["1", "2.0"]).type).toBe("number");
    expect(stats(["true", "FALSE"]).type).toBe("boolean");
    expect(stats(["2024-01-02", "2024-01-02T10:00:00Z"]).type).toBe("date");
    expect(stats(["1", "x"]).type).toBe("string");
    expect(stats(["1.", ".5", "-", "1e", "e1", "1-2"]).top_values.length).toBe(5);
    expect(stats(["1e", "e1", "1-2"]).type).toBe("string");
  });

  it("counts the null spellings as nulls and nothing that merely starts like one", () => {
    const nulls = ["", "null", "NULL", "NA", "N/A", "n/a", "NaN", "None", "-", " NA "];
    const s = stats([...nulls, "-1", "n", "Nope", "--", "NAN", "nil"]);
    expect(s.nulls).toBe(nulls.length);
    expect(s.top_values.map((t) => t.value).sort()).toEqual(["--", "-1", "NAN", "Nope", "n", "nil"]);
  });
});
