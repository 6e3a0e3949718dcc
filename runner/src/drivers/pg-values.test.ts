import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { preparePostgres, unavailable } from "../test-support/databases.ts";
import { rowTypes } from "./pg-values.ts";
import { toJsonValue } from "./values.ts";

// What a frame carried before the fast parsers: pg's own parse, then toJsonValue, then JSON.
const viaStandard = (oid: number, text: string) => JSON.stringify(toJsonValue(pg.types.getTypeParser(oid, "text")(text)));
const viaFast = (oid: number, text: string) => JSON.stringify(rowTypes().getTypeParser(oid, "text")(text));

describe("PostgreSQL value parsers", () => {
  it("keep every microsecond digit of a timestamp, six digits always, with Z only on timestamptz", () => {
    for (let us = 0; us < 1_000_000; us += 997) {
      const six = String(us).padStart(6, "0");
      const text = `2026-03-04 05:06:07${us ? "." + six.replace(/0+$/, "") : ""}`;
      expect(viaFast(1114, text), text).toBe(`"2026-03-04T05:06:07.${six}"`);
      expect(viaFast(1184, text + "+00"), text).toBe(`"2026-03-04T05:06:07.${six}Z"`);
    }
  });

  it("move other offsets to UTC, write years past 9999 and BC as Date does, and keep unknown shapes as text", () => {
    const samples: [number, string, string][] = [
      [1114, "0099-01-01 00:00:00", "0099-01-01T00:00:00.000000"],
      [1114, "0044-03-15 12:00:00.5 BC", "-000043-03-15T12:00:00.500000"],
      [1114, "12345-01-01 00:00:00", "+012345-01-01T00:00:00.000000"],
      [1184, "2024-06-01 12:00:00.123456+02", "2024-06-01T10:00:00.123456Z"],
      [1184, "2026-01-01 10:00:00+05:30", "2026-01-01T04:30:00.000000Z"],
      [1184, "2026-01-01 10:00:00.25-08", "2026-01-01T18:00:00.250000Z"],
      [1184, "1900-01-01 00:00:00+00:09:21", "1899-12-31T23:50:39.000000Z"],
      [1184, "0044-03-15 12:00:00+00 BC", "-000043-03-15T12:00:00.000000Z"],
      [1114, "03/15/2024 12:00:00", "03/15/2024 12:00:00"], // DateStyle SQL: PostgreSQL's text, not a guess
      [1083, "12:00:00.5", "12:00:00.500000"], [1083, "24:00:00", "24:00:00.000000"],
    ];
    for (const [oid, text, want] of samples) expect(viaFast(oid, text), text).toBe(JSON.stringify(want));
    for (const text of ["\\xcafe", "\\001abc"]) expect(viaFast(17, text), text).toBe(viaStandard(17, text));
    // Nested arrays keep their shape, each element parsed like the scalar (not through pg's local-time Date).
    const nested = rowTypes().getTypeParser(1115, "text")('{{"2024-07-01 12:00:00"},{NULL}}');
    expect(nested).toEqual([["2024-07-01T12:00:00.000000"], [null]]);
  });
});

const db = await preparePostgres();
const skip = unavailable("PostgreSQL", "reason" in db ? db.reason : null);

describe.skipIf(skip)("PostgreSQL value parsers against the server", () => {
  let c: pg.Client;
  beforeAll(async () => {
    c = new pg.Client({ connectionString: "url" in db ? db.url : "" });
    await c.connect();
  });
  afterAll(() => c?.end());

  it("write the server's date-times to the microsecond, timestamptz in UTC, whatever the session's time zone", async () => {
    // The server's own to_char is the oracle; before 1937 Amsterdam's offset has seconds (+00:19:32).
    const iso = `YYYY-MM-DD"T"HH24:MI:SS.US`;
    const sql = `SELECT ts, tz, ARRAY[tz], to_char(ts, '${iso}'), to_char(tz AT TIME ZONE 'UTC', '${iso}"Z"')
      FROM (SELECT timestamp '1890-01-01' + g * interval '1 year 1 day 1 second 1234 microseconds' AS ts,
        timestamptz '1890-01-01 00:00:00+00' + g * interval '1 year 37 minutes 1 microsecond' AS tz
        FROM generate_series(0, 500) g) s`;
    for (const zone of ["UTC", "Asia/Kolkata", "Europe/Amsterdam", "America/St_Johns"]) {
      await c.query(`SET TimeZone = '${zone}'`);
      const { rows } = await c.query({ text: sql, rowMode: "array", types: rowTypes() });
      for (const [ts, tz, tza, wantTs, wantTz] of rows) expect([ts, tz, tza], zone).toEqual([wantTs, wantTz, [wantTz]]);
    }
  });

  it("agree with pg's defaults on bytea and floats", async () => {
    const sql = `SELECT decode(md5(g::text), 'hex') AS b, g / 7.0::float8 AS f, ARRAY[g * 0.1::float4] AS fa
      FROM generate_series(0, 500) g`;
    const standard = await c.query({ text: sql, rowMode: "array" });
    const fast = await c.query({ text: sql, rowMode: "array", types: rowTypes() });
    expect(fast.rows.map((r: unknown[]) => JSON.stringify(r))).toEqual(standard.rows.map((r: unknown[]) => JSON.stringify(r.map(toJsonValue))));
  });

  it("keep float NaN and ±Infinity and timestamp ±infinity as PostgreSQL prints them, never as null (SQL NULL)", async () => {
    await c.query("SET TimeZone = 'UTC'");
    const sql = `SELECT 'NaN'::float8, 'Infinity'::float8, '-Infinity'::float4, 'infinity'::timestamp, '-infinity'::timestamptz,
      'infinity'::date, ARRAY['NaN', '-Infinity', '1.5']::float8[], ARRAY['-infinity', '2026-01-01']::timestamp[],
      ARRAY['infinity']::timestamptz[], NULL::float8, 2.5::float8`;
    const fast = await c.query({ text: sql, rowMode: "array", types: rowTypes() });
    expect(JSON.parse(JSON.stringify(fast.rows[0]))).toEqual([
      "NaN", "Infinity", "-Infinity", "infinity", "-infinity",
      "infinity", ["NaN", "-Infinity", 1.5], ["-infinity", "2026-01-01T00:00:00.000000"],
      ["infinity"], null, 2.5,
    ]);
  });
});
