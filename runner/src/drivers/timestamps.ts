/**
 * One text for date-times from every database, so that the same value looks the same whichever database it
 * came from (PostgreSQL wrote `2024-01-01T12:34:56.123Z`, cut to milliseconds, where MariaDB wrote
 * `2024-01-01 12:34:56.123456`):
 *
 * - ISO 8601 with a `T`, which JSON readers and Date.parse expect (the databases print a space).
 * - The fraction always has six digits, microseconds: the precision of PostgreSQL and MySQL, so no digit is
 *   cut, and one width, so the texts of a column sort as their times do. Only SQL Server's 100 ns types can
 *   hold a seventh digit; it is written where it is not 0.
 * - An instant (PostgreSQL timestamptz, MySQL TIMESTAMP, SQL Server datetimeoffset) is written in UTC with a
 *   `Z`. A wall-clock value (timestamp, DATETIME, datetime2) has no zone: it names no instant, and the `Z` it
 *   had on PostgreSQL claimed UTC for a time the database never said was UTC.
 * - A time of day is `HH:MM:SS.ffffff` by the same rule; a date stays `YYYY-MM-DD`.
 *
 * Text of any other shape (MySQL's zero date `0000-00-00 00:00:00`, a non-ISO DateStyle) is the caller's to
 * keep as the database printed it: every function here answers null for it rather than guess.
 */

const isDigit = (c: number) => c >= 48 && c <= 57;

/**
 * `YYYY-MM-DD HH:MM:SS[.f{1,6}]` from position 0 to `end` (how PostgreSQL and MySQL print a date-time) as
 * `YYYY-MM-DDTHH:MM:SS.ffffff`, or null for any other shape and for MySQL's zero month or day. No regex and no
 * Date: this runs for every timestamp of a result.
 */
export function wallClock(s: string, end = s.length): string | null {
  if (end < 19 || end === 20 || end > 26) return null;
  for (const i of [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]) if (!isDigit(s.charCodeAt(i))) return null;
  if (s[4] !== "-" || s[7] !== "-" || s[10] !== " " || s[13] !== ":" || s[16] !== ":") return null;
  if (s.startsWith("00", 5) || s.startsWith("00", 8)) return null;
  if (end > 19 && s[19] !== ".") return null;
  for (let i = 20; i < end; i++) if (!isDigit(s.charCodeAt(i))) return null;
  return `${s.slice(0, 10)}T${s.slice(11, 19)}.${s.slice(20, end).padEnd(6, "0")}`;
}

/** A UTC date-time printed as wallClock reads it, as an instant. */
export function utcInstant(s: string, end = s.length): string | null {
  const w = wallClock(s, end);
  return w === null ? null : w + "Z";
}

const TIME = /^(-?\d{2,3}:\d\d:\d\d)(?:\.(\d{1,6}))?$/;

/** `[-]HH[H]:MM:SS[.f{1,6}]` (PostgreSQL time; MySQL TIME, which may be negative or past 24 h) with six digits. */
export function timeOfDay(s: string): string | null {
  const m = TIME.exec(s);
  return m ? `${m[1]}.${(m[2] ?? "").padEnd(6, "0")}` : null;
}

/** Fields of a date-time; `offsetSeconds` is how far its zone is ahead of UTC (0 for a wall-clock value). */
export interface DateTimeParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** Digits after the decimal point, as printed. */
  fraction: string;
  offsetSeconds: number;
}

/**
 * Any date-time Date can hold, moved to UTC: for the shapes wallClock does not read (years past 9999 or
 * before 1, written as Date writes them, `+012345` and `-000043`; offsets other than UTC). Null out of range.
 */
export function fromParts(p: DateTimeParts, zone: "Z" | ""): string | null {
  const d = new Date(0);
  d.setUTCFullYear(p.year, p.month - 1, p.day); // not Date.UTC, which reads years 0 to 99 as 1900 to 1999
  d.setUTCHours(p.hour, p.minute, p.second - p.offsetSeconds);
  if (Number.isNaN(d.getTime())) return null;
  return withFraction(d, p.fraction.padEnd(6, "0"), zone);
}

/** A Date's UTC fields with `fraction` in place of its milliseconds ("…SS.sssZ" → "…SS.<fraction><zone>"). */
export const withFraction = (d: Date, fraction: string, zone: "Z" | "") => d.toISOString().slice(0, -4) + fraction + zone;

/**
 * A Date's UTC fields (SQL Server's values, read with useUTC) and tedious's part below the millisecond, in
 * seconds. The seventh digit, 100 ns, is written only where it is not 0.
 */
export function fromDate(d: Date, zone: "Z" | "", subMillisecond = 0): string {
  const ticks = String(d.getUTCMilliseconds() * 10_000 + Math.round(subMillisecond * 1e7)).padStart(7, "0");
  return withFraction(d, ticks.endsWith("0") ? ticks.slice(0, 6) : ticks, zone);
}
