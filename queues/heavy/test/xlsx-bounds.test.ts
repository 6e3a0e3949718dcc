/**
 * The XLSX reader holds one row at a time, and that row is bounded as the sheet's XML arrives, as a CSV row
 * is: a cell's reference may not place it past Excel's last column (XFD) nor past CIO_ANALYSIS_MAX_COLUMNS,
 * and a row's text (inline strings, values, the shared strings its cells name) may not pass
 * CIO_ANALYSIS_MAX_ROW_CHARS. A workbook of a few hundred bytes otherwise ran the isolate out of memory.
 */
import { strToU8, zipSync } from "fflate";
import { describe, expect, it } from "vitest";
import { readXlsx, type XlsxReading } from "../src/jobs/analysis/xlsx.js";
import type { HeavyEnv } from "../src/env.js";
import { deliver, env, newTask, newTenant, putFile, readTask, taskMessage } from "./support.js";

/** A one-sheet workbook: a header row of one cell, then `rows` (the sheet's XML, `<row>` elements). */
function book(rows: string, strings: string[] = []): Uint8Array {
  return zipSync({
    "xl/worksheets/sheet1.xml": strToU8(
      `<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>a</t></is></c></row>${rows}</sheetData></worksheet>`,
    ),
    "xl/workbook.xml": strToU8(
      '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>',
    ),
    "xl/_rels/workbook.xml.rels": strToU8('<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Target="worksheets/sheet1.xml"/></Relationships>'),
    "xl/sharedStrings.xml": strToU8(`<sst>${strings.map((s) => `<si><t>${s}</t></si>`).join("")}</sst>`),
  });
}

const LIMITS = { maxSharedStringChars: 1_000_000, maxColumns: 16_384, maxRowChars: 1_000_000 };

/** Reads the workbook; the widths of the rows handed on, or the failure's code. */
async function widths(bytes: Uint8Array, limits: Partial<XlsxReading> = {}): Promise<number[] | string> {
  const out: number[] = [];
  const reading = { onRow: (row: string[]) => void out.push(row.length), progress: async () => {}, ...LIMITS, ...limits };
  return readXlsx(async () => new Response(bytes).body!, bytes.length, reading).then(
    () => out,
    (err: { code?: string }) => err.code ?? String(err),
  );
}

describe("XLSX row bounds", () => {
  it("refuses a cell past Excel's last column (XFD) as invalid_xlsx, before padding its row up to it", async () => {
    expect(await widths(book('<row r="2"><c r="XFE2"><v>1</v></c></row>'))).toBe("invalid_xlsx");
    // Column 321,272,406: a row of that many "" is gigabytes.
    expect(await widths(book('<row r="2"><c r="ZZZZZZ2"><v>1</v></c></row>'))).toBe("invalid_xlsx");
    // XFD itself is Excel's: read.
    expect(await widths(book('<row r="2"><c r="XFD2"><v>1</v></c></row>'))).toEqual([1, 16_384]);
  });

  it("refuses a cell past CIO_ANALYSIS_MAX_COLUMNS as too_many_columns, in any row, whether its column is spelled or counted", async () => {
    expect(await widths(book('<row r="2"><c r="J2"><v>1</v></c></row>'), { maxColumns: 10 })).toEqual([1, 10]);
    expect(await widths(book('<row r="2"><c r="K2"><v>1</v></c></row>'), { maxColumns: 10 })).toBe("too_many_columns");
    const unplaced = `<row>${"<c><v>1</v></c>".repeat(11)}</row>`;
    expect(await widths(book(unplaced), { maxColumns: 10 })).toBe("too_many_columns");
  });

  it("bounds a row's text by CIO_ANALYSIS_MAX_ROW_CHARS: an inline string, a value, or shared strings named by many cells", async () => {
    const limits = { maxRowChars: 1_000 };
    expect(await widths(book(`<row r="2"><c r="A2" t="inlineStr"><is><t>${"x".repeat(1_001)}</t></is></c></row>`), limits)).toBe("xlsx_too_large");
    expect(await widths(book(`<row r="2"><c r="A2"><v>${"1".repeat(1_001)}</v></c></row>`), limits)).toBe("xlsx_too_large");
    const cells = (n: number) => `<row r="2">${Array.from({ length: n }, () => '<c t="s"><v>0</v></c>').join("")}</row>`;
    expect(await widths(book(cells(11), ["y".repeat(100)]), limits)).toBe("xlsx_too_large");
    // The bound is per row: rows under it are read, however many.
    expect(await widths(book(cells(10).repeat(5), ["y".repeat(100)]), limits)).toEqual([1, 10, 10, 10, 10, 10]);
  });

  it("fails the task at once when an inline string is past CIO_ANALYSIS_MAX_ROW_CHARS (a few KB deflated, 1 MB read)", async () => {
    const tenant = await newTenant();
    const bounded = { ...env, CIO_ANALYSIS_MAX_ROW_CHARS: "10240" } as HeavyEnv;
    const bytes = book(`<row r="2"><c r="A2" t="inlineStr"><is><t>${"x".repeat(1_000_000)}</t></is></c></row>`);
    expect(bytes.length).toBeLessThan(10_000);
    const task = await newTask(tenant, "file_analysis", { file_id: await putFile(tenant, "inline.xlsx", bytes) });
    const res = await deliver("heavy", [{ body: taskMessage(task) }], bounded);
    expect(res.explicitAcks.length).toBe(1);
    expect(await readTask(task.id)).toMatchObject({ status: "failed", attempts: 1, error: { code: "xlsx_too_large" } });
  });
});
