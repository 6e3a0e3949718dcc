import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { preparePostgres, unavailable } from "../test-support/databases.ts";
import { isoFromPgText, rowTypes } from "./pg-values.ts";
import { toJsonValue } from "./values.ts";

// What a frame carried before the fast parsers: pg's own parse, then toJsonValue, then JSON.
const viaStandard = (oid: number, text: string) => JSON.stringify(toJsonValue(pg.types.getTypeParser(oid, "text")(text)));
const viaFast = (oid: number, text: string) => JSON.stringify(rowTypes().getTypeParser(oid, "text")(text));

describe("PostgreSQL value parsers", () => {
  it("write a timestamp's ISO string exactly as pg's Date would, for every millisecond digit pattern", () => {
    for (let us = 0; us < 1_000_000; us += 997) {
      const frac = String(us).padStart(6, "0").replace(/0+$/, "");
      const text = `2026-03-04 05:06:07${frac ? "." + frac : ""}`;
      expect(viaFast(1114, text), text).toBe(viaStandard(1114, text));
      expect(viaFast(1184, text + "+00"), text).toBe(viaStandard(1184, text + "+00"));
    }
  });

  it("hand every other shape to pg's parser and still agree with it", () => {
    const samples: [number, string][] = [
      [1114, "0099-01-01 00:00:00"], [1114, "0044-03-15 12:00:00 BC"],
      [1114, "12345-01-01 00:00:00"], [1184, "2026-01-01 10:00:00+05:30"], [1184, "2026-01-01 10:00:00.25-08"],
      [1184, "1900-01-01 00:00:00+00:09:21"], [17, "\\xcafe"], [17, "\\001abc"],
    ];
    for (const [oid, text] of samples) expect(viaFast(oid, text), text).toBe(viaStandard(oid, text));
    expect(isoFromPgText("2026-01-01T00:00:00", 19)).toBeNull();
    expect(isoFromPgText("2026-01-01 00:00:00.", 20)).toBeNull();
    // Nested arrays keep their shape, each element parsed like the scalar (not through pg's local-time Date).
    const nested = rowTypes().getTypeParser(1115, "text")('{{"2024-07-01 12:00:00"},{NULL}}');
    expect(nested).toEqual([["2024-07-01T12:00:00.000Z"], [null]]);
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

  it("agree with pg's defaults on what the server prints, whatever its session time zone", async () => {
    const sql = `SELECT timestamp '2026-01-01 00:00:00' + g * interval '1 second 1234 microseconds' AS ts,
      timestamptz '2026-01-01 00:00:00+00' + g * interval '37 minutes 1 microsecond' AS tz, decode(md5(g::text), 'hex') AS b,
      g / 7.0::float8 AS f, ARRAY[g * 0.1::float4] AS fa, ARRAY[timestamptz '2026-01-01 00:00:00+00' + g * interval '1 hour'] AS tza
      FROM generate_series(0, 500) g`;
    for (const zone of ["UTC", "Asia/Kolkata"]) {
      await c.query(`SET TimeZone = '${zone}'`);
      const standard = await c.query({ text: sql, rowMode: "array" });
      const fast = await c.query({ text: sql, rowMode: "array", types: rowTypes() });
      expect(fast.rows.map((r: unknown[]) => JSON.stringify(r))).toEqual(standard.rows.map((r: unknown[]) => JSON.stringify(r.map(toJsonValue))));
    }
  });

  it("keep float NaN and ±Infinity and timestamp ±infinity as PostgreSQL prints them, never as null (SQL NULL)", async () => {
    await c.query("SET TimeZone = 'UTC'");
    const sql = `SELECT 'NaN'::float8, 'Infinity'::float8, '-Infinity'::float4, 'infinity'::timestamp, '-infinity'::timestamptz,
      'infinity'::date, ARRAY['NaN', '-Infinity', '1.5']::float8[], ARRAY['-infinity', '2026-01-01']::timestamp[],
      ARRAY['infinity']::timestamptz[], NULL::float8, 2.5::float8`;
    const fast = await c.query({ text: sql, rowMode: "array", types: rowTypes() });
    expect(JSON.parse(JSON.stringify(fast.rows[0]))).toEqual([
      "NaN", "Infinity", "-Infinity", "infinity", "-infinity",
      "infinity", ["NaN", "-Infinity", 1.5], ["-infinity", "2026-01-01T00:00:00.000Z"],
      ["infinity"], null, 2.5,
    ]);
  });
});
