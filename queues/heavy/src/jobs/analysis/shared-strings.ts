/**
 * An XLSX workbook's shared strings, which its cells of type `s` name by index. Read before the sheet and held
 * while it is read, they were one JS string each, with no bound: an 18 MB workbook of 2M unique strings ran
 * the 128 MB isolate out of memory, and the crash cost every message of the consumer's batch an attempt. Now
 * they are kept as long blocks of joined text with one offset per string (a string's own header costs more
 * than its text), and bounded: past `maxChars` the task fails as xlsx_too_large. Each string counts two
 * characters more than its length (its 4-byte offset), so the table takes at most about 2 × maxChars bytes,
 * two-byte (non-Latin-1) text included.
 */
import { JobFailure } from "../../job-failure.js";

/** Characters joined into one block: small enough to join cheaply, large enough that blocks are few. */
const BLOCK_CHARS = 1 << 16;
/** What a string costs beyond its characters, in characters: its offset (4 bytes) over 2 bytes a character. */
const PER_STRING = 2;

export class SharedStrings {
  private readonly blocks: { start: number; text: string }[] = [];
  private pending: string[] = [];
  private pendingChars = 0;
  /** ends[i]: where string i ends, counted in characters over all strings; it starts where i - 1 ends. */
  private ends = new Uint32Array(1024);
  private count = 0;
  private chars = 0;

  constructor(private readonly maxChars: number) {}

  /** Throws xlsx_too_large when a string of `length` more characters would not fit (checked as its text arrives). */
  ensureRoom(length: number): void {
    if (this.chars + (this.count + 1) * PER_STRING + length <= this.maxChars) return;
    throw new JobFailure(
      "xlsx_too_large",
      `The workbook's shared strings are too large to analyse (over ${this.maxChars} characters, each string counting ${PER_STRING} more); save the sheet as CSV, which is read as a stream.`,
    );
  }

  push(s: string): void {
    this.ensureRoom(s.length);
    if (this.pendingChars + s.length > BLOCK_CHARS && this.pending.length) this.flush();
    this.pending.push(s);
    this.pendingChars += s.length;
    this.chars += s.length;
    if (this.count === this.ends.length) this.ends = grown(this.ends);
    this.ends[this.count++] = this.chars;
  }

  /** The string at `index`; "" for an index the table does not have (as a missing one read before). */
  get(index: number): string {
    if (!(index >= 0 && index < this.count)) return "";
    const start = index ? this.ends[index - 1]! : 0;
    const end = this.ends[index]!;
    if (start === end) return "";
    this.flush();
    const block = this.blockAt(start);
    return block.text.slice(start - block.start, end - block.start);
  }

  /** Joined: one flat string, which also lets go of the parser's chunks the pieces may be slices of. */
  private flush() {
    if (!this.pending.length) return;
    this.blocks.push({ start: this.chars - this.pendingChars, text: oneByte(this.pending.join("")) });
    this.pending = [];
    this.pendingChars = 0;
  }

  /** The last block starting at or before `at` (a string never spans two). */
  private blockAt(at: number) {
    let lo = 0;
    let hi = this.blocks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.blocks[mid]!.start <= at) lo = mid;
      else hi = mid - 1;
    }
    return this.blocks[lo]!;
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
/**
 * The same text, stored one byte a character when it is all Latin-1: joined as the XML parser hands it over it
 * stayed two bytes a character (32 M ASCII characters took 63 MB; decoded again, 33 MB).
 */
const oneByte = (s: string) => decoder.decode(encoder.encode(s));

const grown = (a: Uint32Array) => {
  const b = new Uint32Array(a.length * 2);
  b.set(a);
  return b;
};
