/**
 * mysql2's values to what a `rows` frame carries. Date-times arrive as MySQL's text (dateStrings) and are
 * written as timestamps.ts says for every database: TIMESTAMP is an instant, which MySQL converts to the
 * session's time_zone (pinned to UTC by the driver), so it gets the `Z`; DATETIME is a wall-clock value and
 * gets no zone; TIME keeps six fraction digits. MariaDB printed `2024-01-01 12:34:56.123456` where
 * PostgreSQL's same value was `2024-01-01T12:34:56.123Z`.
 */
import mysql from "mysql2";
import type { FieldPacket } from "mysql2";
import { timeOfDay, utcInstant, wallClock } from "./timestamps.ts";
import { toJsonValue } from "./values.ts";

const TEXT_FORMS = new Map<number, (s: string) => string | null>([
  [mysql.Types.TIMESTAMP, (s) => utcInstant(s)],
  [mysql.Types.DATETIME, (s) => wallClock(s)],
  [mysql.Types.TIME, timeOfDay],
]);

/** Encodes the rows of a result with these columns. A text of no known shape (a zero date) stays MySQL's. */
export function rowEncoder(fields: FieldPacket[]): (row: unknown[]) => unknown[] {
  const forms = fields.map((f) => TEXT_FORMS.get(f.type ?? -1));
  return (row) =>
    row.map((v, i) => {
      const form = forms[i];
      return form && typeof v === "string" ? (form(v) ?? v) : toJsonValue(v);
    });
}
