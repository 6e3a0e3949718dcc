/**
 * A streaming RFC 4180 CSV parser: text arrives in chunks of any size (a field, a quoted newline or a CRLF
 * may be split between chunks) and each complete row is handed to `onRow` at once, so memory holds one row,
 * never the file. Hand-written rather than a library because none of the Workers-compatible ones both
 * accept chunks split anywhere and keep up with 20 MB/s here; it is small and its edge cases are tested.
 */
const QUOTE = 34;
const LF = 10;
const CR = 13;

export class CsvParser {
  private field = "";
  private row: string[] = [];
  private inQuotes = false;
  /** A quote was seen inside a quoted field: the next character says whether it was `""` or the end. */
  private quoteSeen = false;
  private skipLf = false;
  /** Whether the current field started with a quote (so `""` at its start is an empty quoted field). */
  private fieldStarted = false;
  /** Characters of the finished fields of the row being read, one more each for its delimiter. */
  private rowChars = 0;
  /** A field of the row being read was quoted: a row of one empty field is then a value (`""`), not a blank line. */
  private rowQuoted = false;
  private readonly delim: number;

  /**
   * `maxRowChars` bounds what one row may hold in memory: a quote that never closes, or a file with no line
   * breaks, would otherwise gather the rest of the file into one row (a 300 MB upload in a 128 MB Worker).
   */
  constructor(
    private readonly onRow: (fields: string[]) => void,
    delimiter = ",",
    private readonly maxRowChars = Infinity,
  ) {
    this.delim = delimiter.charCodeAt(0);
  }

  push(chunk: string): void {
    const n = chunk.length;
    const delim = this.delim;
    let i = 0;
    let start = 0;
    if (this.skipLf && n > 0) {
      this.skipLf = false;
      if (chunk.charCodeAt(0) === LF) i = start = 1;
    }
    while (i < n) {
      if (this.inQuotes) {
        if (this.quoteSeen) {
          this.quoteSeen = false;
          if (chunk.charCodeAt(i) === QUOTE) {
            this.field += '"';
            start = ++i;
            continue;
          }
          this.inQuotes = false;
          start = i;
          continue;
        }
        const q = chunk.indexOf('"', i);
        if (q < 0) {
          this.field += chunk.slice(i);
          start = i = n;
          break;
        }
        this.field += chunk.slice(i, q);
        this.quoteSeen = true;
        start = i = q + 1;
        continue;
      }
      // Outside quotes only delimiters, line ends and quotes matter: skip everything else in a tight loop
      // (this runs for every character of the file).
      let c = chunk.charCodeAt(i);
      while (c !== delim && c !== LF && c !== CR && c !== QUOTE && ++i < n) c = chunk.charCodeAt(i);
      if (i === n) break;
      if (c === delim) {
        this.endField(chunk, start, i);
        start = ++i;
      } else if (c === LF || c === CR) {
        this.endField(chunk, start, i);
        this.endRow();
        i++;
        if (c === CR) {
          if (i < n) {
            if (chunk.charCodeAt(i) === LF) i++;
          } else this.skipLf = true;
        }
        start = i;
      } else if (c === QUOTE && i === start && this.field === "" && !this.fieldStarted) {
        this.inQuotes = true;
        this.fieldStarted = true;
        start = ++i;
      } else {
        i++;
      }
    }
    if (start < n && !this.inQuotes) {
      this.field += chunk.slice(start, n);
      this.fieldStarted = true;
    }
    // The field being read is checked once a chunk: it can only outgrow the bound by what one chunk carries.
    this.checkRow(this.field.length);
  }

  /** The input ended: a last row without a trailing newline is still a row. */
  end(): void {
    if (this.inQuotes && !this.quoteSeen) throw new CsvError("the file ends inside a quoted field");
    this.inQuotes = false;
    this.quoteSeen = false;
    if (this.fieldStarted || this.field !== "" || this.row.length) {
      this.endField("", 0, 0);
      this.emit();
    }
  }

  private endField(chunk: string, start: number, end: number) {
    const field = this.field + chunk.slice(start, end);
    this.row.push(field);
    // A delimiter counts, and the row is checked at each field: empty fields added nothing, so a file of
    // commas with no line break grew one row by an element a comma, unbounded (40 MB of commas ran out of memory).
    this.rowChars += field.length + 1;
    this.checkRow(0);
    this.rowQuoted ||= this.fieldStarted;
    this.field = "";
    this.fieldStarted = false;
  }

  private checkRow(pending: number) {
    if (this.rowChars + pending <= this.maxRowChars) return;
    const why = this.inQuotes ? "a quoted field that never closes?" : "no line breaks?";
    throw new CsvError(`a row is longer than ${this.maxRowChars} characters (${why})`);
  }

  private endRow() {
    this.emit();
  }

  private emit() {
    const row = this.row;
    const quoted = this.rowQuoted;
    this.row = [];
    this.rowChars = 0;
    this.rowQuoted = false;
    // A blank line is no row (RFC 4180 allows none; spreadsheets write them at the end). A line holding only
    // `""` is one: an empty value of a one-column file, which was dropped with the blank lines.
    if (row.length === 1 && row[0] === "" && !quoted) return;
    this.onRow(row);
  }
}

export class CsvError extends Error {}
