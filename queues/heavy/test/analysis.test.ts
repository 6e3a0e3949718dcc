import { strToU8, Unzip, unzipSync, zipSync } from "fflate";
import { describe, expect, it } from "vitest";
import { r2Keys } from "../../../lib/heavy/ids.js";
import { eq } from "drizzle-orm";
import { openDb, schema } from "../../../lib/db/index.js";
import type { HeavyEnv } from "../src/env.js";
import { deliver, deliverRecorded, env, newTask, newTenant, putFile, readTask, taskMessage } from "./support.js";

async function analyse(tenantId: string, fileId: string, params: Record<string, unknown> = {}, withEnv: HeavyEnv = env) {
  const task = await newTask(tenantId, "file_analysis", { file_id: fileId, ...params });
  const res = await deliver("heavy", [{ body: taskMessage(task) }], withEnv);
  const row = await readTask(task.id);
  const result = row.resultRef ? await (await env.FILES.get(row.resultRef))!.json<Record<string, any>>() : null;
  return { res, row, result };
}

const CSV = [
  "region,product,units,price,shipped,when",
  "north,apple,10,1.5,true,2024-01-02",
  "south,pear,,2.25,false,2024-02-03",
  'north,"apple, green",7,1.75,true,2024-03-04',
  "east,apple,3,NA,true,",
  "south,plum,12,0.5,false,2024-05-06",
].join("\n");

describe("file analysis", () => {
  it("computes per-column statistics of a CSV and stores them in R2", async () => {
    const tenant = await newTenant();
    const file = await putFile(tenant, "sales.csv", CSV);
    const { res, row, result } = await analyse(tenant, file);
    expect(res.explicitAcks.length).toBe(1);
    expect(row.status).toBe("succeeded");
    expect(row.progress).toBe(1);
    expect(row.resultRef).toBe(r2Keys.taskResult(tenant, row.id));
    expect(result!.rows).toBe(5);
    const col = (n: string) => result!.columns.find((c: { name: string }) => c.name === n);
    expect(col("units")).toMatchObject({ type: "integer", nulls: 1, min: 3, max: 12, mean: 8 });
    expect(col("price")).toMatchObject({ type: "number", nulls: 1, min: 0.5, max: 2.25 });
    expect(col("price").mean).toBeCloseTo(1.5);
    expect(col("shipped")).toMatchObject({ type: "boolean", nulls: 0 });
    expect(col("when")).toMatchObject({ type: "date", nulls: 1, min: "2024-01-02", max: "2024-05-06" });
    expect(col("region").type).toBe("string");
    expect(col("region").top_values).toEqual([{ value: "north", count: 2 }, { value: "south", count: 2 }, { value: "east", count: 1 }]);
    expect(col("product").top_values[1]).toEqual({ value: "apple, green", count: 1 });
    expect(row.summary).toContain("sales.csv: 5 rows, 6 columns");
  });

  it("reads a file larger than one read range, with a character split between two ranges", async () => {
    const tenant = await newTenant();
    // A byte order mark, a 9-byte header, then 8-byte rows: the 2-byte "é" of row 8190 straddles byte 65536
    // (CIO_ANALYSIS_READ_BYTES in the test config), where the first range ends.
    const rows = Array.from({ length: 20_000 }, (_, i) => `café,${i % 10}\n`);
    const bytes = new TextEncoder().encode("\ufeffname,num\n" + rows.join(""));
    expect([bytes[65535], bytes[65536]]).toEqual([0xc3, 0xa9]);
    const file = await putFile(tenant, "cafe.csv", bytes);
    const { row, result } = await analyse(tenant, file);
    expect(row.status).toBe("succeeded");
    expect(result!.rows).toBe(20_000);
    expect(result!.columns[0]).toMatchObject({ name: "name", type: "string", top_values: [{ value: "café", count: 20_000 }] });
    expect(result!.columns[1]).toMatchObject({ name: "num", type: "integer", min: 0, max: 9, mean: 4.5 });
  });

  it("an analysis cancelled while it reads stays cancelled, and its result is not stored", async () => {
    const tenant = await newTenant();
    const file = await putFile(tenant, "sales.csv", CSV);
    const task = await newTask(tenant, "file_analysis", { file_id: file });
    // The client cancels (POST /v1/tasks/:id/cancel's write) as the file is read. Progress writes never come
    // due (the throttle outlasts the test), so only the check before storing can notice the cancel.
    const files = new Proxy(env.FILES, {
      get(target, prop) {
        if (prop !== "get") return Reflect.get(target, prop).bind(target);
        return async (...args: Parameters<R2Bucket["get"]>) => {
          await openDb(env.DB).update(schema.tasks).set({ status: "cancelled", finishedAt: Date.now() }).where(eq(schema.tasks.id, task.id));
          return target.get(...args);
        };
      },
    });
    const slowProgress = { ...env, FILES: files, CIO_HEAVY_PROGRESS_MS: String(Number.MAX_SAFE_INTEGER) } as HeavyEnv;
    const [outcome] = await deliverRecorded("heavy", [{ body: taskMessage(task) }], slowProgress);
    expect(outcome).toEqual({ acked: true, retryDelaySeconds: null });
    expect(await readTask(task.id)).toMatchObject({ status: "cancelled", resultRef: null });
    expect(await env.FILES.head(r2Keys.taskResult(tenant, task.id))).toBeNull();
  });

  it("aggregates by a column when asked", async () => {
    const tenant = await newTenant();
    const file = await putFile(tenant, "sales.csv", CSV);
    const { result } = await analyse(tenant, file, { group_by: "region", aggregates: [{ column: "units", op: "sum" }, { column: "price", op: "mean" }, { column: "units", op: "count" }] });
    const groups = Object.fromEntries(result!.group_by.groups.map((g: { key: string }) => [g.key, g]));
    expect(groups.north).toEqual({ key: "north", rows: 2, values: { "sum(units)": 17, "mean(price)": 1.625, "count(units)": 2 } });
    expect(groups.south.values["sum(units)"]).toBe(12);
    expect(groups.east.values["mean(price)"]).toBeNull();
    expect(result!.group_by.truncated).toBe(false);
  });

  it("finds a ; or tab delimiter from the header when none is given, and refuses text that is not UTF-8", async () => {
    const tenant = await newTenant();
    // A European Excel export: ; between fields, , as the decimal mark.
    const semi = await analyse(tenant, await putFile(tenant, "eu.csv", "region;units;price\nnorth;10;1,5\nsouth;12;2,25\n"));
    expect(semi.result!.columns.map((c: { name: string }) => c.name)).toEqual(["region", "units", "price"]);
    const tabs = await analyse(tenant, await putFile(tenant, "t.txt", "a\tb\n1\t2\n"));
    expect(tabs.result!.columns.map((c: { name: string }) => c.name)).toEqual(["a", "b"]);
    // "café" in Windows-1252: é is the single byte 0xE9, which is no UTF-8.
    const latin = new Uint8Array([...new TextEncoder().encode("name\ncaf"), 0xe9, 10]);
    const bad = await analyse(tenant, await putFile(tenant, "latin.csv", latin));
    expect(bad.row).toMatchObject({ status: "failed", error: { code: "invalid_csv", message: expect.stringContaining("not UTF-8") } });
  });

  it("counts a text column's values in a group, as SQL's count(column) does, and sums only real numbers", async () => {
    const tenant = await newTenant();
    const csv = ["region,customer,amount", "north,ann,5", "north,bob,0x1A", "north,,Infinity", "south,cid,NA", "south,dee,2"].join("\n");
    const file = await putFile(tenant, "g.csv", csv);
    // The default aggregate is the count of the group-by column itself.
    const plain = await analyse(tenant, file, { group_by: "region" });
    const counts = Object.fromEntries(plain.result!.group_by.groups.map((g: { key: string; values: Record<string, number> }) => [g.key, g.values]));
    expect(counts).toEqual({ north: { "count(region)": 3 }, south: { "count(region)": 2 } });
    const { result } = await analyse(tenant, file, { group_by: "region", aggregates: [{ column: "customer", op: "count" }, { column: "amount", op: "sum" }] });
    const groups = Object.fromEntries(result!.group_by.groups.map((g: { key: string; values: Record<string, number> }) => [g.key, g.values]));
    // "0x1A" and "Infinity" are no numbers to the column statistics either; an empty customer is no value.
    expect(groups.north).toEqual({ "count(customer)": 2, "sum(amount)": 5 });
    expect(groups.south).toEqual({ "count(customer)": 2, "sum(amount)": 2 });
  });

  it("reads an XLSX workbook: shared strings, inline strings, booleans, sparse cells, a named sheet", async () => {
    const tenant = await newTenant();
    const file = await putFile(tenant, "book.xlsx", xlsx());
    const first = await analyse(tenant, file);
    expect(first.row.status).toBe("succeeded");
    expect(first.result!.format).toBe("xlsx");
    expect(first.result!.rows).toBe(3);
    const col = (r: any, n: string) => r.columns.find((c: { name: string }) => c.name === n);
    expect(col(first.result, "city")).toMatchObject({ type: "string", top_values: [{ value: "Oslo", count: 2 }, { value: "Bergen", count: 1 }] });
    expect(col(first.result, "temp")).toMatchObject({ type: "number", min: -3.5, max: 12, nulls: 1 });
    expect(col(first.result, "sunny")).toMatchObject({ type: "boolean" });
    const second = await analyse(tenant, file, { sheet: "Other" });
    expect(second.result!.columns.map((c: { name: string }) => c.name)).toEqual(["x"]);
    expect(second.result!.rows).toBe(1);
  });

  it("holds none of an XLSX's entries it does not read (an image, the other sheets) while it reads the chosen sheet", async () => {
    const tenant = await newTenant();
    const big = new Uint8Array(1024 * 1024); // random: incompressible, as a picture is
    for (let i = 0; i < big.length; i += 65_536) crypto.getRandomValues(big.subarray(i, i + 65_536));
    const parts = unzipSync(xlsx());
    const file = await putFile(tenant, "pictured.xlsx", zipSync({ ...parts, "xl/media/image1.png": [big, { level: 0 }] }));
    // fflate's Unzip keeps the compressed bytes of an entry never started in `k`, for as long as it lives.
    let kept = 0;
    const push = Unzip.prototype.push;
    Unzip.prototype.push = function (this: Unzip, chunk: Uint8Array, final?: boolean) {
      push.call(this, chunk, final);
      const k = (this as unknown as { k: Uint8Array[][] }).k;
      kept = Math.max(kept, k.flat().reduce((n, c) => n + c.length, 0));
    };
    try {
      expect((await analyse(tenant, file)).result!.rows).toBe(3);
    } finally {
      Unzip.prototype.push = push;
    }
    expect(kept).toBeLessThan(64 * 1024);
  });

  it("fails a workbook whose shared strings are past CIO_ANALYSIS_MAX_SHARED_STRING_CHARS as xlsx_too_large, at once, instead of running out of memory", async () => {
    const tenant = await newTenant();
    const bounded = { ...env, CIO_ANALYSIS_MAX_SHARED_STRING_CHARS: "1024" } as HeavyEnv;
    const withStrings = (items: string[]) => zipSync({ ...unzipSync(xlsx()), "xl/sharedStrings.xml": strToU8(`<sst>${items.map((t) => `<si><t>${t}</t></si>`).join("")}</sst>`) });
    // Many strings (100 × 20 characters), then one item alone past the bound (refused as its text arrives).
    const many = Array.from({ length: 100 }, (_, i) => `${i}`.padEnd(20, "x"));
    for (const book of [withStrings(["city", "temp", ...many]), withStrings(["city", "temp", "x".repeat(5000)])]) {
      const { res, row } = await analyse(tenant, await putFile(tenant, "wide.xlsx", book), {}, bounded);
      expect(res.explicitAcks.length).toBe(1);
      expect(row).toMatchObject({ status: "failed", attempts: 1, error: { code: "xlsx_too_large" } });
    }
    // Under the bound the same workbook is read as before.
    const fits = await analyse(tenant, await putFile(tenant, "book.xlsx", withStrings(["city", "temp", "Oslo", "Bergen"])), {}, bounded);
    expect(fits.row.status).toBe("succeeded");
  });

  it("reads XLSX dates as dates: serials in date-formatted cells (built-in and custom formats, 1904 workbooks) become ISO 8601", async () => {
    const tenant = await newTenant();
    const col = (r: any, n: string) => r.columns.find((c: { name: string }) => c.name === n);
    const { result } = await analyse(tenant, await putFile(tenant, "dates.xlsx", datedXlsx(false)));
    expect(col(result, "day")).toMatchObject({ type: "date", min: "2023-03-15", max: "2023-03-16" });
    expect(col(result, "at")).toMatchObject({ type: "date", min: "2023-03-15T12:00:00", max: "2023-03-15T18:30:00" });
    expect(col(result, "amount")).toMatchObject({ type: "number", min: 3.5, max: 45000 });
    const old = await analyse(tenant, await putFile(tenant, "mac.xlsx", datedXlsx(true)));
    expect(col(old.result, "day")).toMatchObject({ min: "2027-03-16", max: "2027-03-17" });
  });

  it("fails at once, without retries, for a file of another tenant, an unknown column or a bad format", async () => {
    const tenant = await newTenant();
    const other = await newTenant();
    const foreign = await putFile(other, "sales.csv", CSV);
    const a = await analyse(tenant, foreign);
    expect(a.res.explicitAcks.length).toBe(1);
    expect(a.row).toMatchObject({ status: "failed", error: { code: "file_not_found" } });
    const own = await putFile(tenant, "sales.csv", CSV);
    const b = await analyse(tenant, own, { group_by: "nope" });
    expect(b.row).toMatchObject({ status: "failed", error: { code: "unknown_column" } });
    const pdf = await putFile(tenant, "report.pdf", "%PDF-1.4");
    expect((await analyse(tenant, pdf)).row.error?.code).toBe("unsupported_file");
    const broken = await putFile(tenant, "broken.xlsx", "not a zip at all");
    expect((await analyse(tenant, broken)).row.error?.code).toBe("invalid_xlsx");
  });

  it("does not redo a finished analysis when its message is delivered again", async () => {
    const tenant = await newTenant();
    const file = await putFile(tenant, "sales.csv", CSV);
    const { row } = await analyse(tenant, file);
    await env.FILES.delete(row.resultRef!);
    const again = await deliver("heavy", [{ body: taskMessage(row) }]);
    expect(again.explicitAcks.length).toBe(1);
    const after = await readTask(row.id);
    expect(after).toMatchObject({ status: "succeeded", attempts: 1 });
    expect(await env.FILES.head(row.resultRef!)).toBeNull();
  });

  it("skips a task cancelled before its message arrived", async () => {
    const tenant = await newTenant();
    const big = "a,b\n" + "1,2\n".repeat(200_000);
    const file = await putFile(tenant, "big.csv", big);
    const task = await newTask(tenant, "file_analysis", { file_id: file }, { status: "cancelled" });
    const res = await deliver("heavy", [{ body: taskMessage(task) }]);
    expect(res.explicitAcks.length).toBe(1);
    expect((await readTask(task.id)).status).toBe("cancelled");
    expect((await readTask(task.id)).attempts).toBe(0);
  });
});

function xlsx(): Uint8Array {
  const sheet = (rows: string) =>
    strToU8(`<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>${rows}</sheetData></worksheet>`);
  return zipSync({
    "[Content_Types].xml": strToU8("<Types/>"),
    "xl/worksheets/sheet1.xml": sheet(
      '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="inlineStr"><is><t>sunny</t></is></c></row>' +
        '<row r="2"><c r="A2" t="s"><v>2</v></c><c r="B2"><v>12</v></c><c r="C2" t="b"><v>1</v></c></row>' +
        '<row r="3"><c r="A3" t="s"><v>3</v></c><c r="B3"><v>-3.5</v></c><c r="C3" t="b"><v>0</v></c></row>' +
        '<row r="4"><c r="A4" t="s"><v>2</v></c><c r="C4" t="b"><v>1</v></c></row>',
    ),
    "xl/worksheets/sheet2.xml": sheet('<row r="1"><c r="A1" t="inlineStr"><is><t>x</t></is></c></row><row r="2"><c r="A2"><v>1</v></c></row>'),
    "xl/workbook.xml": strToU8(
      '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Data" sheetId="1" r:id="rId1"/><sheet name="Other" sheetId="2" r:id="rId2"/></sheets></workbook>',
    ),
    "xl/_rels/workbook.xml.rels": strToU8(
      '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Target="/xl/worksheets/sheet2.xml"/></Relationships>',
    ),
    // Stored after the sheets, as some writers do: the reader must not depend on the order.
    "xl/sharedStrings.xml": strToU8('<sst><si><t>city</t></si><si><r><t>te</t></r><r><t>mp</t></r><rPh><t>x</t></rPh></si><si><t>Oslo</t></si><si><t>Bergen</t></si></sst>'),
  });
}

/** Dates as Excel stores them: serial numbers in cells styled with a date format (xf 1: built-in 14, xf 2: a custom format, xf 3: "0.00"). */
function datedXlsx(date1904: boolean): Uint8Array {
  const cell = (ref: string, v: string | number, s?: number) => (typeof v === "string" ? `<c r="${ref}" t="inlineStr"><is><t>${v}</t></is></c>` : `<c r="${ref}"${s === undefined ? "" : ` s="${s}"`}><v>${v}</v></c>`);
  const rows = [
    ["day", "at", "amount"],
    [45000, 45000.5, 3.5],
    [45001, 45000.770833333336, 45000],
  ]
    .map((r, i) => `<row r="${i + 1}">${r.map((v, j) => cell(`${"ABC"[j]}${i + 1}`, v, i ? j + 1 : undefined)).join("")}</row>`)
    .join("");
  return zipSync({
    "xl/worksheets/sheet1.xml": strToU8(`<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>${rows}</sheetData></worksheet>`),
    "xl/workbook.xml": strToU8(
      `<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">${date1904 ? '<workbookPr date1904="1"/>' : ""}<sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>`,
    ),
    "xl/_rels/workbook.xml.rels": strToU8('<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Target="worksheets/sheet1.xml"/></Relationships>'),
    "xl/styles.xml": strToU8(
      '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><numFmts count="1"><numFmt numFmtId="164" formatCode="[$-409]yyyy\\-mm\\-dd&quot; at &quot;hh:mm;@"/></numFmts>' +
        '<cellStyleXfs count="1"><xf numFmtId="14"/></cellStyleXfs><cellXfs count="4"><xf numFmtId="0"/><xf numFmtId="14"/><xf numFmtId="164"/><xf numFmtId="2"/></cellXfs></styleSheet>',
    ),
  });
}
