/**
 * tedious's values to what a `rows` frame carries, by column type.
 *
 * Date-times come as Dates, read with useUTC (which the driver pins), so a wall-clock value's fields are its
 * UTC fields, plus a `nanosecondsDelta` below the millisecond. They are written as timestamps.ts says for
 * every database: datetimeoffset is an instant (`Z`); datetime, smalldatetime and datetime2 are wall-clock;
 * date is `YYYY-MM-DD` and time `HH:MM:SS.ffffff`. As plain Dates they all became instants cut to the
 * millisecond: a date `2024-02-29T00:00:00.000Z`, a time `1970-01-01T12:00:00.500Z`.
 */
import { fromDate } from "./timestamps.ts";
import { toJsonValue } from "./values.ts";

/** In arrayRowMode the `recordset` event carries the columns as an array of this shape. */
export type MssqlColumn = { name: string; type?: { declaration?: string; name?: string } };

type TediousDate = Date & { nanosecondsDelta?: number };

const DATE_FORMS: Record<string, (d: TediousDate) => string> = {
  date: (d) => d.toISOString().slice(0, 10),
  time: (d) => fromDate(d, "", d.nanosecondsDelta).slice(11),
  datetime: (d) => fromDate(d, ""),
  smalldatetime: (d) => fromDate(d, ""),
  datetime2: (d) => fromDate(d, "", d.nanosecondsDelta),
  datetimeoffset: (d) => fromDate(d, "Z", d.nanosecondsDelta),
};

/** Encodes the rows of a result with these columns. */
export function rowEncoder(columns: MssqlColumn[]): (row: unknown[]) => unknown[] {
  const forms = columns.map((c) => DATE_FORMS[c.type?.declaration ?? ""]);
  return (row) =>
    row.map((v, i) => {
      const form = forms[i];
      return form && v instanceof Date && !Number.isNaN(v.getTime()) ? form(v) : toJsonValue(v);
    });
}
