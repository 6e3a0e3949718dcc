/**
 * Statistics of one column, accumulated value by value in constant memory: the inferred type, nulls,
 * min/max/mean for numbers (and min/max for dates and text), and the most frequent values.
 */
import { detach } from "./detach.js";
import { TopValues } from "./top-values.js";

export type ColumnType = "empty" | "integer" | "number" | "boolean" | "date" | "string";

/** Values that mean "no value" in a column, here and in group-by aggregates. */
export const NULLS: ReadonlySet<string> = new Set(["", "null", "NULL", "NA", "N/A", "n/a", "NaN", "None", "-"]);
const BOOLS = new Set(["true", "false", "TRUE", "FALSE", "True", "False"]);
const DATE = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;
/** Longest value in NULLS and the lengths of BOOLS: most values skip the set lookups by length alone. */
const NULL_MAX_LENGTH = 4;
/**
 * Whether a short value can be in NULLS at all, by its first character ("n", "N", or "-" alone): short
 * numbers would otherwise each pay a set lookup (hashing the text) just to be told they are not null.
 */
const mayBeNull = (v: string) => {
  const c = v.charCodeAt(0);
  return v.length === 0 || c === 110 || c === 78 || (c === 45 && v.length === 1);
};

export interface ColumnSummary {
  name: string;
  type: ColumnType;
  count: number;
  nulls: number;
  min: number | string | null;
  max: number | string | null;
  mean: number | null;
  top_values: { value: string; count: number }[];
  top_values_exact: boolean;
}

export class ColumnStats {
  count = 0;
  nulls = 0;
  private ints = 0;
  private nums = 0;
  private bools = 0;
  private dates = 0;
  private sum = 0;
  private minNum = Infinity;
  private maxNum = -Infinity;
  private minText: string | null = null;
  private maxText: string | null = null;
  private minDate: string | null = null;
  private maxDate: string | null = null;
  private top: TopValues;

  constructor(
    readonly name: string,
    topCapacity: number,
  ) {
    this.top = new TopValues(topCapacity);
  }

  add(raw: string | undefined): void {
    this.count++;
    const v = raw === undefined ? "" : raw.length > 0 && (raw.charCodeAt(0) === 32 || raw.charCodeAt(raw.length - 1) === 32) ? raw.trim() : raw;
    if (v.length <= NULL_MAX_LENGTH && mayBeNull(v) && NULLS.has(v)) {
      this.nulls++;
      return;
    }
    if (this.minText === null || v < this.minText) this.minText = detach(v);
    if (this.maxText === null || v > this.maxText) this.maxText = detach(v);
    const shape = numberShape(v);
    if (shape !== NOT_A_NUMBER) {
      // A plain integer's value comes from the scan (exact up to 15 digits); other numbers need Number().
      const exact = shape === PLAIN_INTEGER && scannedInteger.digits <= MAX_EXACT_DIGITS;
      const n = exact ? scannedInteger.value : Number(v);
      // An integer written the way JavaScript writes it is counted under its number: hashing a number is
      // cheaper than hashing its text, and String(n) gives the text back exactly.
      this.top.add(exact && scannedInteger.canonical ? n : topText(v));
      this.nums++;
      if (shape === PLAIN_INTEGER && Number.isInteger(n)) this.ints++;
      this.sum += n;
      if (n < this.minNum) this.minNum = n;
      if (n > this.maxNum) this.maxNum = n;
      return;
    }
    this.top.add(topText(v));
    if ((v.length === 4 || v.length === 5) && BOOLS.has(v)) {
      this.bools++;
    } else if (v.length >= 10 && v.charCodeAt(4) === 45 && v.charCodeAt(7) === 45 && DATE.test(v)) {
      this.dates++;
      if (this.minDate === null || v < this.minDate) this.minDate = detach(v);
      if (this.maxDate === null || v > this.maxDate) this.maxDate = detach(v);
    }
  }

  /** The narrowest type every non-null value fits. */
  get type(): ColumnType {
    const present = this.count - this.nulls;
    if (present === 0) return "empty";
    if (this.ints === present) return "integer";
    if (this.nums === present) return "number";
    if (this.bools === present) return "boolean";
    if (this.dates === present) return "date";
    return "string";
  }

  summary(topN: number): ColumnSummary {
    const type = this.type;
    const numeric = type === "integer" || type === "number";
    const [min, max] = numeric ? [this.minNum, this.maxNum] : type === "date" ? [this.minDate, this.maxDate] : type === "string" ? [this.minText, this.maxText] : [null, null];
    return {
      name: this.name,
      type,
      count: this.count,
      nulls: this.nulls,
      min,
      max,
      mean: numeric ? this.sum / this.nums : null,
      top_values: this.top.top(topN),
      top_values_exact: this.top.isExact,
    };
  }
}

/** Top values are counted on at most the first 200 characters of a value. */
const topText = (v: string) => (v.length > 200 ? v.slice(0, 200) : v);

export const NOT_A_NUMBER = 0;
/** Digits only (with an optional sign): counts as an integer. */
const PLAIN_INTEGER = 1;
/** With a decimal point or an exponent: a number even when its value is whole. */
const DECIMAL = 2;

const isDigit = (c: number) => c >= 48 && c <= 57;

/** Integers of up to 15 digits are exact in a double, so their value can be summed digit by digit. */
const MAX_EXACT_DIGITS = 15;

/**
 * What numberShape saw of a plain integer: its value (exact when `digits` ≤ 15) and whether the text is
 * canonical, i.e. what String(value) gives (no "+", no leading zero, not "-0"). One shared object rather
 * than a returned one, so the scan allocates nothing per cell.
 */
export const scannedInteger = { value: 0, digits: 0, canonical: false };

/**
 * Whether `v` is a number as /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/ defines it, and of which shape.
 * A scan instead of two regexes per value: this runs for every cell of the file. (charCodeAt past the end
 * is NaN, which is no digit, sign, point or exponent.)
 */
export function numberShape(v: string): typeof NOT_A_NUMBER | typeof PLAIN_INTEGER | typeof DECIMAL {
  let i = 0;
  let c = v.charCodeAt(0);
  const sign = c;
  if (c === 43 || c === 45) c = v.charCodeAt(++i);
  const first = c;
  let digits = 0;
  let value = 0;
  while (isDigit(c)) (digits++, (value = value * 10 + (c - 48)), (c = v.charCodeAt(++i)));
  scannedInteger.digits = digits;
  scannedInteger.value = sign === 45 ? -value : value;
  scannedInteger.canonical = sign !== 43 && (digits === 1 || first !== 48) && !(sign === 45 && value === 0);
  let shape: typeof PLAIN_INTEGER | typeof DECIMAL = PLAIN_INTEGER;
  if (c === 46) {
    shape = DECIMAL;
    c = v.charCodeAt(++i);
    while (isDigit(c)) (digits++, (c = v.charCodeAt(++i)));
  }
  if (digits === 0) return NOT_A_NUMBER;
  if (c === 101 || c === 69) {
    shape = DECIMAL;
    c = v.charCodeAt(++i);
    if (c === 43 || c === 45) c = v.charCodeAt(++i);
    const before = i;
    while (isDigit(c)) c = v.charCodeAt(++i);
    if (i === before) return NOT_A_NUMBER;
  }
  return i === v.length ? shape : NOT_A_NUMBER;
}
