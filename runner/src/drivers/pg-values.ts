/**
 * PostgreSQL text values straight to what a `rows` frame carries, without a detour through objects.
 *
 * pg's defaults turn every timestamp into a Date (a regex parse) that the frame then turns back into an ISO
 * string, and bytea into a Buffer that becomes `\x…` hex again: on a 10-column result with one timestamp
 * that was a fifth of the runner's CPU. These parsers write the text a frame carries straight from
 * PostgreSQL's; a type they do not know takes pg's own parser.
 *
 * Date-times are written as timestamps.ts says for every database, from PostgreSQL's text: never through a
 * Date, which cut microseconds to milliseconds, nor through the runner host's local time (pg's defaults built
 * zone-less values as local Dates, so on a host in Europe/Berlin `DATE '2024-03-15'` became
 * "2024-03-14T23:00:00.000Z"). A date stays its text.
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
import { fromParts, timeOfDay, utcInstant, wallClock } from "./timestamps.ts";

const TIMESTAMP = 1114;
const TIMESTAMPTZ = 1184;
const BYTEA = 17;
const DATE = 1082;
const FLOAT4 = 700;
const FLOAT8 = 701;
const FLOAT4_ARRAY = 1021;
const FLOAT8_ARRAY = 1022;
const TIME = 1083;
const TIME_ARRAY = 1183;
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

/** PostgreSQL's other date-time shapes: years past 9999, BC, and offsets other than +00 (a session not in UTC). */
const PG_DATE_TIME = /^(\d{4,})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?(?:([+-])(\d\d)(?::(\d\d))?(?::(\d\d))?)?( BC)?$/;

/** A date-time of those shapes in the one text (timestamps.ts); PostgreSQL's own text if it has none. */
function otherDateTime(s: string, zone: "Z" | ""): string {
  const m = PG_DATE_TIME.exec(s);
  if (!m) return s;
  const n = (i: number) => Number(m[i] ?? 0);
  const offsetSeconds = (m[8] === "-" ? -1 : 1) * (n(9) * 3600 + n(10) * 60 + n(11));
  const year = m[12] ? 1 - n(1) : n(1); // 1 BC is year 0
  const parts = { year, month: n(2), day: n(3), hour: n(4), minute: n(5), second: n(6), fraction: m[7] ?? "", offsetSeconds };
  return fromParts(parts, zone) ?? s;
}

export interface PgTypes {
  getTypeParser(oid: number, format?: string): (text: string) => unknown;
}

/** Type parsers for a query's cursor. */
export function rowTypes(): PgTypes {
  const timestamp = (s: string) => (isInfinity(s) ? s : (wallClock(s) ?? otherDateTime(s, "")));
  const timestamps = (s: string) => mapArray(parseTextArray(s), timestamp);
  // With a UTC session the server prints "+00"; other offsets take the slower path.
  const timestamptz = (s: string) =>
    isInfinity(s) ? s : ((s.endsWith("+00") ? utcInstant(s, s.length - 3) : null) ?? otherDateTime(s, "Z"));
  const time = (s: string) => timeOfDay(s) ?? s;
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
      if (oid === TIME) return time;
      if (oid === TIME_ARRAY) return (s: string) => mapArray(parseTextArray(s), time);
      if (oid === FLOAT4 || oid === FLOAT8) return float;
      if (oid === FLOAT4_ARRAY || oid === FLOAT8_ARRAY) return floats;
      return pg.types.getTypeParser(oid, format as "text") as (text: string) => unknown;
    },
  };
}
