/**
 * Excel stores dates as numbers (days since 1900, or 1904 on old Mac workbooks) and says they are dates
 * only through the cell's style: styles.xml maps the cell's `s` index to a number format, built in or
 * custom. Without this a date column would be analysed as plain numbers around 45,000.
 */
/** Built-in number formats that show a date or a time (ECMA-376 §18.8.30, plus the East Asian date ids). */
const BUILTIN_DATE_IDS = new Set([14, 15, 16, 17, 18, 19, 20, 21, 22, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 45, 46, 47, 50, 51, 52, 53, 54, 55, 56, 57, 58]);
/** Days between Excel's day 0 (1899-12-30, which absorbs Lotus's phantom 1900-02-29) and 1970-01-01. */
const EPOCH_1900 = 25_569;
const EPOCH_1904 = EPOCH_1900 - 1_462;

/** A format code shows a date or time when, outside quoted text, escapes and [colour]/[locale] sections, it has d, m, y, h or s. */
export function isDateFormat(code: string): boolean {
  const bare = code
    .replace(/"[^"]*"/g, "")
    .replace(/\\./g, "")
    .replace(/\[(?![hms]+\])[^\]]*\]/gi, "");
  return /[dmyhs]/i.test(bare);
}

/** Whether number format `id` shows a date or time; `custom` holds the workbook's own format codes by id. */
export function isDateFormatId(id: number, custom: Map<number, string>): boolean {
  const code = custom.get(id);
  return code === undefined ? BUILTIN_DATE_IDS.has(id) : isDateFormat(code);
}

/** An Excel serial as ISO 8601: a date, a date and time, or (below one day) a time of day. */
export function serialToIso(raw: string, date1904: boolean): string {
  const serial = Number(raw);
  if (!Number.isFinite(serial)) return raw;
  const ms = Math.round((serial - (date1904 ? EPOCH_1904 : EPOCH_1900)) * 86_400) * 1000;
  if (Math.abs(ms) > 8.64e15) return raw; // beyond what a Date can hold: keep the number rather than fail the file
  const iso = new Date(ms).toISOString();
  if (serial >= 0 && serial < 1) return iso.slice(11, 19);
  return Number.isInteger(serial) ? iso.slice(0, 10) : iso.slice(0, 19);
}
