/**
 * A CSV file from any range source (R2 in the job, a local file in the memory benchmark) into rows: ranges
 * are decoded as UTF-8 across their boundaries (a character split between two ranges is joined) and fed to
 * the streaming parser. Kept free of the job's bindings so the benchmark runs exactly this code.
 */
import { CsvParser } from "./csv.js";
import { readRanges, type RangeReadStats, type RangeSource } from "./range-reader.js";

export interface CsvReadOptions {
  step: number;
  delimiter: string;
  /** Longest row in characters (see CsvParser). */
  maxRowChars: number;
  onRow: (fields: string[]) => void;
  /** Called after each range with the fraction of the file read. */
  onProgress: (fraction: number) => Promise<void> | void;
}

export async function readCsvRanges(source: RangeSource, o: CsvReadOptions): Promise<RangeReadStats> {
  const parser = new CsvParser(o.onRow, o.delimiter, o.maxRowChars);
  const decoder = new TextDecoder("utf-8");
  let first = true;
  const stats = await readRanges(source, o.step, async (bytes, end) => {
    let text = decoder.decode(bytes, { stream: true });
    // A byte order mark is not part of the first column's name.
    if (first && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    first = false;
    parser.push(text);
    await o.onProgress(source.size ? end / source.size : 0);
  });
  parser.push(decoder.decode());
  parser.end();
  return stats;
}
