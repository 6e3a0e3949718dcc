/**
 * PostgreSQL text values straight to what a `rows` frame carries, without a detour through objects.
 *
 * pg's defaults turn every timestamp into a Date (a regex parse) that the frame then turns back into an ISO
 * string, and bytea into a Buffer that becomes `\x…` hex again: on a 10-column result with one timestamp
 * that was a fifth of the runner's CPU. These parsers produce the very same strings directly for the shapes
 * PostgreSQL prints by default, and hand anything else to pg's own parser (a Date still serialises to the
 * same ISO string through its toJSON, so the output never depends on which path a value took).
 */
import pg from "pg";

const TIMESTAMP = 1114;
const TIMESTAMPTZ = 1184;
const BYTEA = 17;

const standard = (oid: number) => pg.types.getTypeParser(oid, "text") as (text: string) => unknown;
const parseTimestamp = standard(TIMESTAMP);
const parseTimestamptz = standard(TIMESTAMPTZ);
const parseBytea = standard(BYTEA);

/** pg reads a timestamp without time zone as local time; only in UTC is its ISO string the text itself. */
const localIsUtc = () => ["UTC", "Etc/UTC", "Etc/Universal", "Universal", "Etc/Zulu", "Zulu"].includes(Intl.DateTimeFormat().resolvedOptions().timeZone);

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

/** Type parsers for a query's cursor; built per query so a changed TZ is honoured. */
export function rowTypes(): PgTypes {
  const utc = localIsUtc();
  const timestamp = (s: string) => (utc ? isoFromPgText(s, s.length) : null) ?? parseTimestamp(s);
  // With a UTC session the server prints "+00"; other offsets take pg's path.
  const timestamptz = (s: string) => (s.endsWith("+00") ? isoFromPgText(s, s.length - 3) : null) ?? parseTimestamptz(s);
  // bytea_output = hex (the default) is already the `\x…` text a frame carries.
  const bytea = (s: string) => (s.startsWith("\\x") ? s : "\\x" + (parseBytea(s) as Buffer).toString("hex"));
  return {
    getTypeParser(oid, format) {
      if (oid === TIMESTAMP) return timestamp;
      if (oid === TIMESTAMPTZ) return timestamptz;
      if (oid === BYTEA) return bytea;
      return pg.types.getTypeParser(oid, format as "text") as (text: string) => unknown;
    },
  };
}
