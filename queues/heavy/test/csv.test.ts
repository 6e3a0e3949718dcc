import { describe, expect, it } from "vitest";
import { CsvError, CsvParser } from "../src/jobs/analysis/csv.js";

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
});
