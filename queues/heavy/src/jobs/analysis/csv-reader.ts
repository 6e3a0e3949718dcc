/**
 * A CSV file from any range source (R2 in the job, a local file in the memory benchmark) into rows: ranges
 * are decoded as UTF-8 across their boundaries (a character split between two ranges is joined) and fed to
 * the streaming parser. Kept free of the job's bindings so the benchmark runs exactly this code.
 */
import { CsvError, CsvParser } from "./csv.js";
import { readRanges, type RangeReadStats, type RangeSource } from "./range-reader.js";

export interface CsvReadOptions {
  step: number;
  /** Undefined: the most frequent of , ; tab | in the header line (a European Excel export uses ;). */
  delimiter: string | undefined;
  /** Longest row in characters (see CsvParser). */
  maxRowChars: number;
  onRow: (fields: string[]) => void;
  /** Called after each range with the fraction of the file read. */
  onProgress: (fraction: number) => Promise<void> | void;
}

export async function readCsvRanges(source: RangeSource, o: CsvReadOptions): Promise<RangeReadStats> {
  let parser: CsvParser | undefined;
  // Fatal: text that is not UTF-8 (a Windows-1252 export, say) would otherwise turn into U+FFFD unseen.
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
  const decode = (bytes?: Uint8Array) => {
    try {
      return bytes ? decoder.decode(bytes, { stream: true }) : decoder.decode();
    } catch {
      throw new CsvError("the file is not UTF-8 text; save it as CSV UTF-8");
    }
  };
  const stats = await readRanges(source, o.step, async (bytes, end) => {
    let text = decode(bytes);
    if (!parser) {
      // A byte order mark is not part of the first column's name.
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      parser = new CsvParser(o.onRow, o.delimiter ?? delimiterOf(text), o.maxRowChars);
    }
    parser.push(text);
    await o.onProgress(source.size ? end / source.size : 0);
  });
  parser ??= new CsvParser(o.onRow, o.delimiter ?? ",", o.maxRowChars);
  parser.push(decode());
  parser.end();
  return stats;
}

const CANDIDATES = [",", ";", "\t", "|"];

/**
 * The candidate that occurs most often in the header line outside quotes; "," when none does. The header ends
 * at the first line break outside quotes: cut at the first one of all, a quoted name holding a line break
 * (`"a;\nb",c,d`) left only its own text to count, and its `;` won over the header's commas.
 */
export function delimiterOf(text: string): string {
  const counts = CANDIDATES.map(() => 0);
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    // As the parser reads quotes: `""` inside quotes is a quote, and one opens only a field that starts with it
    // (after any candidate, the delimiter not being known yet).
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') i++;
      else if (c === '"') quoted = false;
      continue;
    }
    if (c === '"' && (i === 0 || CANDIDATES.includes(text[i - 1]!))) {
      quoted = true;
      continue;
    }
    if (c === "\n" || c === "\r") break;
    const k = CANDIDATES.indexOf(c);
    if (k >= 0) counts[k]!++;
  }
  const best = counts.indexOf(Math.max(...counts));
  return counts[best]! > 0 ? CANDIDATES[best]! : ",";
}
