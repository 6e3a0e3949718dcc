/**
 * PostgreSQL text values straight to what a `rows` frame carries, without a detour through objects.
 *
 * pg's defaults turn every timestamp into a Date (a regex parse) that the frame then turns back into an ISO
 * string, and bytea into a Buffer that becomes `\x…` hex again: on a 10-column result with one timestamp
 * that was a fifth of the runner's CPU. These parsers produce the very same strings directly for the shapes
 * PostgreSQL prints by default, and hand anything else to pg's own parser (a Date still serialises to the
 * same ISO string through its toJSON, so the output never depends on which path a value took).
 *
 * Values without a time zone never pass through the runner host's local time: pg's defaults build them as
 * local Dates, so on a host in Europe/Berlin `DATE '2024-03-15'` became "2024-03-14T23:00:00.000Z". A date
 * stays its text; a timestamp is its wall-clock time written as if UTC, wherever the runner runs.
 *
 * Values JSON has no number or date for (float NaN and ±Infinity, timestamp ±infinity) stay the text
 * PostgreSQL prints for them: pg made them NaN, ±Infinity, which JSON writes as null, and a caller could not
 * tell them from SQL NULL.
 *
 * json and jsonb stay the text PostgreSQL prints: pg's JSON.parse rounded numbers past a double's precision
 * (12345678901234567890 became 12345678901234567000), dropped all but the last of repeated keys, and made the
 * JSON value null look like SQL NULL. The column's type (json, jsonb, json[], jsonb[]) says the text is JSON.
 * interval, point and circle stay their text too: pg made objects of them (a zero interval was `{}`) that no
 * other database's values look like; bytea[] is `\x…` hex like bytea (pg's Buffers became {"type":"Buffer"}).
 */
import pg from "pg";

const TIMESTAMP = 1114;
const TIMESTAMPTZ = 1184;
const BYTEA = 17;
const DATE = 1082;
const FLOAT4 = 700;
const FLOAT8 = 701;
const FLOAT4_ARRAY = 1021;
const FLOAT8_ARRAY = 1022;
const TIMESTAMP_ARRAY = 1115;
const TIMESTAMPTZ_ARRAY = 1185;
const DATE_ARRAY = 1182;
const NUMERIC_ARRAY = 1231;
const TEXT_ARRAY = 1009;
const BYTEA_ARRAY = 1001;
/** date, json, jsonb, interval, point, circle: PostgreSQL's text is the value. */
const AS_TEXT = new Set([DATE, 114, 3802, 1186, 600, 718]);
/** Their arrays, and numeric[]: nested element texts. */
const AS_TEXT_ARRAY = new Set([DATE_ARRAY, NUMERIC_ARRAY, 199, 3807, 1187, 1017]);

const standard = (oid: number) => pg.types.getTypeParser(oid, "text") as (text: string) => unknown;
const parseTimestamptz = standard(TIMESTAMPTZ);
const parseBytea = standard(BYTEA);

type TextArray = (string | null | TextArray)[];
/** Any array as nested element texts: numeric[] keeps its digits (pg's parseFloatArray rounds them). */
const parseTextArray = standard(TEXT_ARRAY) as (text: string) => TextArray;
const mapArray = (a: TextArray, f: (s: string) => unknown): unknown[] =>
  a.map((e) => (e === null ? null : typeof e === "string" ? f(e) : mapArray(e, f)));

/** A float as a number; "NaN", "Infinity" and "-Infinity" (no JSON number) stay as PostgreSQL printed them. */
const float = (s: string): number | string => {
  const n = parseFloat(s);
  return Number.isFinite(n) ? n : s;
};

/** "infinity" and "-infinity": timestamps no Date holds (pg made them ±Infinity, which JSON writes as null). */
const isInfinity = (s: string) => s === "infinity" || s === "-infinity";

/** Marks a timestamp's text as UTC for pg's timestamptz parser (" BC" must stay last). */
const asUtc = (s: string) => (s.endsWith(" BC") ? s.slice(0, -3) + "+00 BC" : s + "+00");

const isDigit = (c: number) => c >= 48 && c <= 57;

/**
 * `YYYY-MM-DD HH:MM:SS[.f{1,6}]` (4-digit year, AD) from position 0 to `end` → `YYYY-MM-DDTHH:MM:SS.mmmZ`,
 * or null for any other shape. Milliseconds are truncated, as pg's parser and Date do.
 */
export function isoFromPgText(s: string, end: number): string | null {
  if (end < 19 || end === 20 || end > 26) return null;
  for (const i of [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]) if (!isDigit(s.charCodeAt(i))) return null;
  if (s[4] !== "-" || s[7] !== "-" || s[10] !== " " || s[13] !== ":" || s[16] !== ":") return null;
  if (s.charCodeAt(0) === 48) return null; // years below 1000 take pg's path (Date's two-digit-year quirks)
  let ms = "000";
  if (end > 19) {
    if (s[19] !== ".") return null;
    for (let i = 20; i < end; i++) if (!isDigit(s.charCodeAt(i))) return null;
    ms = s.slice(20, Math.min(end, 23)).padEnd(3, "0");
  }
  return `${s.slice(0, 10)}T${s.slice(11, 19)}.${ms}Z`;
}

export interface PgTypes {
  getTypeParser(oid: number, format?: string): (text: string) => unknown;
}

/** Type parsers for a query's cursor. */
export function rowTypes(): PgTypes {
  // pg's timestamp parser would read the other shapes (years below 1000, BC) as local time.
  const timestamp = (s: string) => (isInfinity(s) ? s : (isoFromPgText(s, s.length) ?? parseTimestamptz(asUtc(s))));
  const timestamps = (s: string) => mapArray(parseTextArray(s), timestamp);
  // With a UTC session the server prints "+00"; other offsets take pg's path.
  const timestamptz = (s: string) =>
    isInfinity(s) ? s : ((s.endsWith("+00") ? isoFromPgText(s, s.length - 3) : null) ?? parseTimestamptz(s));
  const floats = (s: string) => mapArray(parseTextArray(s), float);
  // bytea_output = hex (the default) is already the `\x…` text a frame carries.
  const bytea = (s: string) => (s.startsWith("\\x") ? s : "\\x" + (parseBytea(s) as Buffer).toString("hex"));
  return {
    getTypeParser(oid, format) {
      if (oid === TIMESTAMP) return timestamp;
      if (oid === TIMESTAMPTZ) return timestamptz;
      if (oid === BYTEA) return bytea;
      if (oid === BYTEA_ARRAY) return (s: string) => mapArray(parseTextArray(s), bytea);
      if (AS_TEXT.has(oid)) return (s: string) => s;
      if (AS_TEXT_ARRAY.has(oid)) return parseTextArray;
      if (oid === TIMESTAMP_ARRAY) return timestamps;
      if (oid === TIMESTAMPTZ_ARRAY) return (s: string) => mapArray(parseTextArray(s), timestamptz);
      if (oid === FLOAT4 || oid === FLOAT8) return float;
      if (oid === FLOAT4_ARRAY || oid === FLOAT8_ARRAY) return floats;
      return pg.types.getTypeParser(oid, format as "text") as (text: string) => unknown;
    },
  };
}
