/**
 * CIO_ANALYSIS_MAX_ROW_CHARS bounds the row the CSV parser holds, delimiters included: a row of empty fields
 * (a file of commas with no line break) added nothing to the count, so it was never refused while each comma
 * grew the row by one element (40 MB of commas ran a 128 MB isolate out of memory).
 */
import { describe, expect, it } from "vitest";
import { CsvError, CsvParser } from "../src/jobs/analysis/csv.js";
import { readCsvRanges } from "../src/jobs/analysis/csv-reader.js";

describe("the CSV row bound", () => {
  it("counts delimiters: a row of empty fields past maxRowChars is refused, and within one chunk as soon as it passes", () => {
    const widths: number[] = [];
    const parser = new CsvParser((row) => widths.push(row.length), ",", 1_000);
    parser.push("a,b\n");
    // One chunk a thousand times the bound: the row stops growing at the bound, not at the chunk's end.
    expect(() => parser.push(",".repeat(1_000_000))).toThrow(/a row is longer than 1000 characters \(no line breaks\?\)/);
    expect((parser as unknown as { row: string[] }).row.length).toBeLessThanOrEqual(1_001);
    expect(widths).toEqual([2]);
  });

  it("still reads rows of empty fields within the bound, however many", () => {
    let rows = 0;
    const parser = new CsvParser(() => rows++, ",", 1_000);
    parser.push(`${",".repeat(900)}\n`.repeat(100));
    parser.end();
    expect(rows).toBe(100);
  });

  it("the job's reader fails a file of commas with no line break (read range by range) as a malformed CSV", async () => {
    const bytes = new TextEncoder().encode("a,b\n" + ",".repeat(200_000));
    const source = { size: bytes.length, read: async (o: number, l?: number) => bytes.slice(o, l === undefined ? undefined : o + l) };
    const read = readCsvRanges(source, { step: 65_536, delimiter: undefined, maxRowChars: 10_000, onRow: () => {}, onProgress: () => {} });
    await expect(read).rejects.toThrow(CsvError);
  });
});
