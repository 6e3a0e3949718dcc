/**
 * SQL Server values without a server: tedious's own value parser reads TDS bytes built here, as it reads
 * them off the wire, and rowEncoder writes what a rows frame carries.
 */
import { readValue } from "tedious/lib/value-parser.js";
import { describe, expect, it } from "vitest";
import { rowEncoder } from "./mssql-values.ts";

/** `n` as `bytes` little-endian bytes. */
const le = (n: number, bytes: number) => {
  const b = Buffer.alloc(bytes);
  b.writeUIntLE(n, 0, bytes);
  return b;
};
/** Days since 0001-01-01, as TDS counts a date. */
const days = (iso: string) => 730_119 + (Date.parse(`${iso}T00:00:00Z`) - Date.parse("2000-01-01T00:00:00Z")) / 86_400_000;
/** 100 ns units since midnight. */
const ticks = (h: number, m: number, s: number, units: number) => ((h * 60 + m) * 60 + s) * 1e7 + units;

/** What tedious (with useUTC, as the driver pins it) makes of `bytes` for a column of this type. */
function parse(type: string, scale: number, bytes: Buffer): unknown {
  const metadata = { type: { name: type }, scale, precision: 0 } as unknown as Parameters<typeof readValue>[2];
  return readValue(bytes, 0, metadata, { useUTC: true } as Parameters<typeof readValue>[3]).value;
}

const encode = (declaration: string, value: unknown) => rowEncoder([{ name: "v", type: { declaration } }])([value])[0];

describe("SQL Server date-times", () => {
  it("are written as on PostgreSQL and MySQL: wall-clock without a zone, instants in UTC with Z, six digits", () => {
    const dt2 = (units: number) => Buffer.concat([Buffer.from([8]), le(ticks(12, 34, 56, units), 5), le(days("2024-01-01"), 3)]);
    expect(encode("datetime2", parse("DateTime2", 7, dt2(1_234_560)))).toBe("2024-01-01T12:34:56.123456");
    expect(encode("datetime2", parse("DateTime2", 7, dt2(0)))).toBe("2024-01-01T12:34:56.000000");
    // 100 ns, which only SQL Server holds: a seventh digit where it is not 0.
    expect(encode("datetime2", parse("DateTime2", 7, dt2(1_234_567)))).toBe("2024-01-01T12:34:56.1234567");
    const dto = Buffer.concat([Buffer.from([10]), le(ticks(10, 0, 0, 1_234_560), 5), le(days("2024-06-01"), 3), le(120, 2)]);
    expect(encode("datetimeoffset", parse("DateTimeOffset", 7, dto))).toBe("2024-06-01T10:00:00.123456Z");
    const legacy = Buffer.concat([le(days("2024-01-01") - days("1900-01-01"), 4), le(ticks(12, 34, 56, 0) / 1e7 * 300 + 37, 4)]);
    expect(encode("datetime", parse("DateTime", 0, legacy))).toBe("2024-01-01T12:34:56.123000");
  });

  it("write a date as its date and a time as its time of day, not as instants in 1970", () => {
    expect(encode("date", parse("Date", 0, Buffer.concat([Buffer.from([3]), le(days("2024-02-29"), 3)])))).toBe("2024-02-29");
    expect(encode("time", parse("Time", 7, Buffer.concat([Buffer.from([5]), le(ticks(12, 0, 0, 5_000_000), 5)])))).toBe("12:00:00.500000");
    expect(encode("time", parse("Time", 3, Buffer.concat([Buffer.from([4]), le(ticks(23, 59, 59, 9_990_000) / 1e4, 4)])))).toBe("23:59:59.999000");
  });

  it("leave other values to toJsonValue", () => {
    expect(rowEncoder([{ name: "a" }, { name: "b", type: { declaration: "varbinary" } }])([null, Buffer.from("cafe", "hex")])).toEqual([null, "\\xcafe"]);
  });
});
