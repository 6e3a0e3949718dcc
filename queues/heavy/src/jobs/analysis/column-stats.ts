/**
 * Statistics of one column, accumulated value by value in constant memory: the inferred type, nulls,
 * min/max/mean for numbers (and min/max for dates and text), and the most frequent values.
 */
import { TopValues } from "./top-values.js";

export type ColumnType = "empty" | "integer" | "number" | "boolean" | "date" | "string";

const NULLS = new Set(["", "null", "NULL", "NA", "N/A", "n/a", "NaN", "None", "-"]);
const BOOLS = new Set(["true", "false", "TRUE", "FALSE", "True", "False"]);
const DATE = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;
const NUMERIC = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

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
    if (NULLS.has(v)) {
      this.nulls++;
      return;
    }
    this.top.add(v.length > 200 ? v.slice(0, 200) : v);
    if (this.minText === null || v < this.minText) this.minText = v;
    if (this.maxText === null || v > this.maxText) this.maxText = v;
    if (NUMERIC.test(v)) {
      const n = Number(v);
      this.nums++;
      if (Number.isInteger(n) && !/[.eE]/.test(v)) this.ints++;
      this.sum += n;
      if (n < this.minNum) this.minNum = n;
      if (n > this.maxNum) this.maxNum = n;
    } else if (BOOLS.has(v)) {
      this.bools++;
    } else if (DATE.test(v)) {
      this.dates++;
      if (this.minDate === null || v < this.minDate) this.minDate = v;
      if (this.maxDate === null || v > this.maxDate) this.maxDate = v;
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
