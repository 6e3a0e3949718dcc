/**
 * Streaming XLSX reader: fflate unzips entries chunk by chunk and saxes parses their XML as it arrives,
 * so neither the archive nor a sheet is ever held whole. Two passes over the R2 object: the first reads the
 * workbook (sheet names), its relationships and the shared strings (a sheet's cells refer to them and the
 * archive may store them after the sheet; held compactly and bounded, shared-strings.ts); the second streams
 * the chosen sheet's rows.
 */
import { Unzip, UnzipInflate, type UnzipFile } from "fflate";
import { SaxesParser, type SaxesTagPlain } from "saxes";
import { JobFailure } from "../../job.js";
import { SharedStrings } from "./shared-strings.js";
import { isDateFormatId, serialToIso } from "./xlsx-dates.js";

type Open = () => Promise<ReadableStream<Uint8Array>>;

interface WorkbookInfo {
  sheets: { name: string; rid: string }[];
  rels: Map<string, string>;
  strings: SharedStrings;
  /** Cell style indexes whose number format is a date or time (from styles.xml). */
  dateStyles: Set<number>;
  /** The workbook counts days from 1904 (old Mac Excel) rather than 1900. */
  date1904: boolean;
}

export interface XlsxReading {
  onRow: (row: string[]) => void;
  progress: (p: number) => Promise<void>;
  /** The sheet to read; the first when unset. */
  sheet?: string;
  /** CIO_ANALYSIS_MAX_SHARED_STRING_CHARS: past it the task fails as xlsx_too_large (shared-strings.ts). */
  maxSharedStringChars: number;
  /** CIO_ANALYSIS_MAX_COLUMNS: a cell past it fails the task as too_many_columns (one past XFD as invalid_xlsx). */
  maxColumns: number;
  /** CIO_ANALYSIS_MAX_ROW_CHARS: a row holding more text fails the task as xlsx_too_large. */
  maxRowChars: number;
}

/** Excel's last column, XFD: a reference past it is not one Excel writes. */
const MAX_SHEET_COLUMNS = 16_384;

export async function readXlsx(open: Open, size: number, { onRow, progress, sheet, maxSharedStringChars, ...limits }: XlsxReading): Promise<void> {
  const info = await readWorkbook(open, size, new SharedStrings(maxSharedStringChars), (p) => progress(p * 0.2));
  const chosen = sheet === undefined ? info.sheets[0] : info.sheets.find((s) => s.name === sheet);
  if (!chosen) throw new JobFailure("sheet_not_found", sheet ? `No sheet named '${sheet}' (sheets: ${info.sheets.map((s) => s.name).join(", ")}).` : "The workbook has no sheets.");
  const target = info.rels.get(chosen.rid);
  if (!target) throw new JobFailure("invalid_xlsx", `The workbook does not say where sheet '${chosen.name}' is stored.`);
  const path = target.startsWith("/") ? target.slice(1) : `xl/${target}`;
  const rows = new SheetRows(info, onRow, limits);
  const seen = await unzipEntries(open, size, new Set([path]), () => rows.parser(), (p) => progress(0.2 + p * 0.8));
  if (!seen.has(path)) throw new JobFailure("invalid_xlsx", `The sheet '${chosen.name}' (${path}) is missing from the archive.`);
}

async function readWorkbook(open: Open, size: number, strings: SharedStrings, progress: (p: number) => Promise<void>): Promise<WorkbookInfo> {
  const info: WorkbookInfo = { sheets: [], rels: new Map(), strings, dateStyles: new Set(), date1904: false };
  const parsers: Record<string, () => SaxesParser> = {
    "xl/workbook.xml": () => onTags((tag) => {
      if (local(tag.name) === "sheet") info.sheets.push({ name: attr(tag, "name"), rid: attr(tag, "r:id") || attr(tag, "id") });
      else if (local(tag.name) === "workbookPr") info.date1904 = ["1", "true"].includes(attr(tag, "date1904"));
    }),
    "xl/_rels/workbook.xml.rels": () => onTags((tag) => {
      if (local(tag.name) === "Relationship") info.rels.set(attr(tag, "Id"), attr(tag, "Target"));
    }),
    "xl/sharedStrings.xml": () => sharedStrings(info.strings),
    "xl/styles.xml": () => dateStyles(info.dateStyles),
  };
  const seen = await unzipEntries(open, size, new Set(Object.keys(parsers)), (name) => parsers[name]!(), progress);
  if (!seen.has("xl/workbook.xml")) throw new JobFailure("invalid_xlsx", "The file is not an Excel workbook (no xl/workbook.xml).");
  return info;
}

/** Streams the archive once, feeding each wanted entry's XML into a fresh parser; returns the entries seen. */
async function unzipEntries(open: Open, size: number, wanted: Set<string>, parserFor: (name: string) => SaxesParser, progress: (p: number) => Promise<void>): Promise<Set<string>> {
  const seen = new Set<string>();
  let failure: unknown = null;
  const unzip = new Unzip((file: UnzipFile) => {
    if (!wanted.has(file.name)) {
      // Started and dropped: fflate keeps the compressed bytes of an entry never started for the life of the
      // Unzip, so the other sheets and the images of a large workbook filled the Worker's memory.
      file.ondata = () => {};
      return file.start();
    }
    seen.add(file.name);
    const parser = parserFor(file.name);
    const decoder = new TextDecoder();
    file.ondata = (err, chunk, final) => {
      if (failure) return;
      try {
        if (err) throw err;
        parser.write(decoder.decode(chunk, { stream: !final }));
        if (final) parser.close();
      } catch (e) {
        failure = e;
      }
    };
    file.start();
  });
  unzip.register(UnzipInflate);
  let read = 0;
  try {
    for await (const chunk of await open()) {
      unzip.push(chunk);
      if (failure) break;
      read += chunk.byteLength;
      await progress(size ? read / size : 0);
    }
    if (!failure) unzip.push(new Uint8Array(0), true);
  } catch (err) {
    failure ??= err;
  }
  if (failure instanceof JobFailure) throw failure;
  if (failure) throw new JobFailure("invalid_xlsx", `The Excel file could not be read: ${failure instanceof Error ? failure.message : String(failure)}`);
  return seen;
}

function onTags(fn: (tag: SaxesTagPlain) => void): SaxesParser {
  const p = new SaxesParser();
  p.on("opentag", fn);
  return p;
}

/** `<si>` items; rich text runs are joined, phonetic hints (`<rPh>`) left out. Bounded as the text arrives, so one huge item fails too. */
function sharedStrings(out: SharedStrings): SaxesParser {
  const p = new SaxesParser();
  let inT = false;
  let inPhonetic = false;
  let current = "";
  p.on("opentag", (tag) => {
    const n = local(tag.name);
    if (n === "si") current = "";
    else if (n === "t") inT = !inPhonetic;
    else if (n === "rPh") inPhonetic = true;
  });
  p.on("text", (t) => {
    if (!inT) return;
    out.ensureRoom(current.length + t.length);
    current += t;
  });
  p.on("closetag", (tag) => {
    const n = local(tag.name);
    if (n === "t") inT = false;
    else if (n === "rPh") inPhonetic = false;
    else if (n === "si") out.push(current);
  });
  return p;
}

/** The `cellXfs` entries (a cell's `s` is an index into them) whose number format shows a date or time. */
function dateStyles(out: Set<number>): SaxesParser {
  const custom = new Map<number, string>();
  let inCellXfs = false;
  let xf = 0;
  const p = new SaxesParser();
  p.on("opentag", (tag) => {
    const n = local(tag.name);
    if (n === "numFmt") custom.set(Number(attr(tag, "numFmtId")), attr(tag, "formatCode"));
    else if (n === "cellXfs") inCellXfs = true;
    else if (n === "xf" && inCellXfs && isDateFormatId(Number(attr(tag, "numFmtId") || 0), custom)) out.add(xf++);
    else if (n === "xf" && inCellXfs) xf++;
  });
  p.on("closetag", (tag) => {
    if (local(tag.name) === "cellXfs") inCellXfs = false;
  });
  return p;
}

/**
 * Turns `<row>`/`<c>` elements into arrays of cell text, placed by their column letters; dates become ISO 8601.
 * Bounded as the XML arrives, as a CSV row is: a cell's reference places it (`ZZZZZZ2` once padded its row
 * with "" up to column 321 million), and inline strings and values were joined whole (a deflated workbook of a
 * few hundred KB holds hundreds of MB of one cell's text), either of which ran the isolate out of memory.
 */
class SheetRows {
  constructor(
    private readonly book: Pick<WorkbookInfo, "strings" | "dateStyles" | "date1904">,
    private readonly onRow: (row: string[]) => void,
    private readonly limits: { maxColumns: number; maxRowChars: number },
  ) {}

  parser(): SaxesParser {
    const p = new SaxesParser();
    let row: string[] = [];
    let col = 0;
    let type = "n";
    let style = 0;
    let inValue = false;
    let text = "";
    /** Characters of the row's cells so far, the cell being read included. */
    let rowChars = 0;
    const count = (chars: number) => {
      rowChars += chars;
      if (rowChars > this.limits.maxRowChars) {
        throw new JobFailure("xlsx_too_large", `A row of the sheet holds more than ${this.limits.maxRowChars} characters; save the sheet as CSV or split the cell's text.`);
      }
    };
    p.on("opentag", (tag) => {
      const n = local(tag.name);
      if (n === "row") {
        row = [];
        col = 0;
        rowChars = 0;
      } else if (n === "c") {
        const ref = attr(tag, "r");
        col = ref ? columnIndex(ref) : col;
        this.checkColumn(col);
        type = attr(tag, "t") || "n";
        style = Number(attr(tag, "s") || 0);
        text = "";
      } else if (n === "v" || (n === "t" && type === "inlineStr")) {
        inValue = true;
      }
    });
    p.on("text", (t) => {
      if (!inValue) return;
      count(t.length);
      text += t;
    });
    p.on("closetag", (tag) => {
      const n = local(tag.name);
      if (n === "v" || n === "t") inValue = false;
      else if (n === "c") {
        while (row.length < col) row.push("");
        const value = this.cellText(type, text, style);
        // The cell counts as it is handed on: a shared string's text rather than its index.
        count(value.length - text.length);
        row[col] = value;
        col++;
      } else if (n === "row") {
        this.onRow(row);
      }
    });
    return p;
  }

  private checkColumn(col: number) {
    if (col >= MAX_SHEET_COLUMNS) throw new JobFailure("invalid_xlsx", `A cell of the sheet is in column ${col + 1}, past Excel's last column (XFD, ${MAX_SHEET_COLUMNS}).`);
    if (col >= this.limits.maxColumns) throw new JobFailure("too_many_columns", `The sheet has a cell in column ${col + 1}; at most ${this.limits.maxColumns} columns are analysed.`);
  }

  private cellText(type: string, raw: string, style: number): string {
    if (type === "s") return this.book.strings.get(Number(raw));
    if (type === "n" && raw && this.book.dateStyles.has(style)) return serialToIso(raw, this.book.date1904);
    if (type === "b") return raw === "1" ? "true" : raw === "0" ? "false" : raw;
    if (type === "e") return "";
    return raw;
  }
}

/** `BC12` → 54 (zero-based column of the cell reference). */
export function columnIndex(ref: string): number {
  let n = 0;
  for (let i = 0; i < ref.length; i++) {
    const c = ref.charCodeAt(i);
    if (c < 65 || c > 90) break;
    n = n * 26 + (c - 64);
  }
  return n - 1;
}

const local = (name: string) => {
  const i = name.indexOf(":");
  return i < 0 ? name : name.slice(i + 1);
};
const attr = (tag: SaxesTagPlain, name: string) => {
  const v = tag.attributes[name];
  return typeof v === "string" ? v : "";
};
