import { describe, expect, it } from "vitest";
import { CsvError, CsvParser } from "../src/jobs/analysis/csv.js";
import { delimiterOf } from "../src/jobs/analysis/csv-reader.js";

/** Parses `text` fed in pieces of `size` characters (every split point is exercised with size 1). */
function parse(text: string, size = text.length, delimiter = ","): string[][] {
  const rows: string[][] = [];
  const p = new CsvParser((r) => rows.push(r), delimiter);
  for (let i = 0; i < text.length; i += size) p.push(text.slice(i, i + size));
  p.end();
  return rows;
}

const CASES: [string, string, string[][]][] = [
  ["plain rows", "a,b\n1,2\n", [["a", "b"], ["1", "2"]]],
  ["no trailing newline", "a,b\n1,2", [["a", "b"], ["1", "2"]]],
  ["CRLF line ends", "a,b\r\n1,2\r\n", [["a", "b"], ["1", "2"]]],
  ["quoted delimiter and newline", 'a,b\n"x,y","line1\nline2"\n', [["a", "b"], ["x,y", "line1\nline2"]]],
  ["escaped quotes", 'q\n"say ""hi"""\n', [["q"], ['say "hi"']]],
  ["empty fields", "a,,c\n,,\n", [["a", "", "c"], ["", "", ""]]],
  ["empty quoted field", 'a,""\n', [["a", ""]]],
  ["blank lines skipped", "a\n\n1\n\n", [["a"], ["1"]]],
  ["a quoted empty value alone on its line is a row, not a blank line", 'name\n""\nx\n""', [["name"], [""], ["x"], [""]]],
  ["quote inside an unquoted field is data", 'a\nab"c\n', [["a"], ['ab"c']]],
  ["text after a closing quote is kept", 'a\n"x"y\n', [["a"], ["xy"]]],
];

describe("CsvParser", () => {
  for (const [name, text, rows] of CASES) {
    it(`${name}, whole and split at every character`, () => {
      expect(parse(text)).toEqual(rows);
      expect(parse(text, 1)).toEqual(rows);
      expect(parse(text, 3)).toEqual(rows);
    });
  }

  it("honours another delimiter", () => {
    expect(parse("a\tb\n1,5\t2\n", 2, "\t")).toEqual([["a", "b"], ["1,5", "2"]]);
  });

  it("rejects a file that ends inside quotes", () => {
    expect(() => parse('a\n"open')).toThrow(CsvError);
  });

  it("refuses a row longer than its bound as it grows, not after the whole file is in memory", () => {
    const fed = (text: string, size: number) => {
      const rows: string[][] = [];
      const p = new CsvParser((r) => rows.push(r), ",", 1000);
      let at = 0;
      try {
        for (; at < text.length; at += size) p.push(text.slice(at, at + size));
        p.end();
      } catch (err) {
        return { err, at, rows };
      }
      return { err: null, at, rows };
    };
    // A quote that never closes: the rest of the file would become one field.
    const open = fed(`a,b\n1,"never closed ${"x".repeat(100_000)}`, 256);
    expect(String(open.err)).toMatch(/a row is longer than 1000 characters \(a quoted field that never closes\?\)/);
    expect(open.at).toBeLessThan(2000);
    // No line breaks: many fields, one row.
    expect(String(fed(`${"x,".repeat(50_000)}`, 256).err)).toMatch(/no line breaks/);
    // Rows within the bound are untouched, however many.
    expect(fed(`${"abc,def\n".repeat(5000)}`, 256)).toMatchObject({ err: null });
  });
});

describe("delimiterOf", () => {
  it("counts the header's delimiters outside quotes, a quoted line break included", () => {
    expect(delimiterOf('"a;\nb",c,d;e\n1,2,3\n')).toBe(",");
    expect(delimiterOf('"x,\r\ny";z;w\n1;2;3')).toBe(";");
    expect(delimiterOf('"say ""a;b;c""",d\n')).toBe(",");
    expect(delimiterOf("a\tb\tc\n1,2")).toBe("\t");
    expect(delimiterOf("one column\n1;2")).toBe(",");
    // A quote inside an unquoted name is text, as the parser reads it: it opens nothing.
    expect(delimiterOf('size 5",width;depth;name\n')).toBe(";");
  });
});
