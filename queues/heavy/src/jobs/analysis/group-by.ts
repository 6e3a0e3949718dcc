/**
 * Group-by aggregates (count, sum, mean, min, max per group) over a stream of rows. The number of groups
 * is capped so a high-cardinality key cannot exhaust memory; rows of groups past the cap are counted in
 * `other_rows` and the result says it was truncated.
 */
import type { z } from "zod";
import type { AggregateSchema } from "../../../../../lib/protocol/heavy.js";
import { NOT_A_NUMBER, NULLS, numberShape } from "./column-stats.js";
import { detach } from "./detach.js";

type Aggregate = z.infer<typeof AggregateSchema>;

interface Acc {
  rows: number;
  /** Values present (not empty, not a null marker): what count() counts, as SQL's count(column) does. */
  present: number[];
  /** Numeric values among them: what sum, mean, min and max are over. */
  n: number[];
  sum: number[];
  min: number[];
  max: number[];
}

export interface GroupByResult {
  column: string;
  aggregates: Aggregate[];
  groups: { key: string; rows: number; values: Record<string, number | null> }[];
  truncated: boolean;
  other_rows: number;
}

export class GroupBy {
  private groups = new Map<string, Acc>();
  private other = 0;
  private keyIndex = -1;
  private aggIndex: number[] = [];

  constructor(
    readonly column: string,
    readonly aggregates: Aggregate[],
    private readonly maxGroups: number,
  ) {}

  /** Resolve column names against the header; returns the names that do not exist. */
  bind(header: string[]): string[] {
    this.keyIndex = header.indexOf(this.column);
    this.aggIndex = this.aggregates.map((a) => header.indexOf(a.column));
    const missing = [this.column, ...this.aggregates.map((a) => a.column)].filter((c) => !header.includes(c));
    return [...new Set(missing)];
  }

  add(row: string[]): void {
    const key = (row[this.keyIndex] ?? "").trim();
    let acc = this.groups.get(key);
    if (!acc) {
      if (this.groups.size >= this.maxGroups) {
        this.other++;
        return;
      }
      const k = this.aggregates.length;
      acc = { rows: 0, present: new Array(k).fill(0), n: new Array(k).fill(0), sum: new Array(k).fill(0), min: new Array(k).fill(Infinity), max: new Array(k).fill(-Infinity) };
      this.groups.set(detach(key), acc);
    }
    acc.rows++;
    for (let i = 0; i < this.aggIndex.length; i++) {
      const raw = row[this.aggIndex[i]!]?.trim();
      if (raw === undefined || NULLS.has(raw)) continue;
      acc.present[i]!++;
      // The column statistics' notion of a number: Number() would also take "0x1A", "0b101" and "Infinity".
      if (numberShape(raw) === NOT_A_NUMBER) continue;
      const v = Number(raw);
      if (!Number.isFinite(v)) continue;
      acc.n[i]!++;
      acc.sum[i]! += v;
      if (v < acc.min[i]!) acc.min[i] = v;
      if (v > acc.max[i]!) acc.max[i] = v;
    }
  }

  result(limit: number): GroupByResult {
    const groups = [...this.groups.entries()]
      .sort((a, b) => b[1].rows - a[1].rows || (a[0] < b[0] ? -1 : 1))
      .slice(0, limit)
      .map(([key, acc]) => ({ key, rows: acc.rows, values: Object.fromEntries(this.aggregates.map((a, i) => [`${a.op}(${a.column})`, value(a.op, acc, i)])) }));
    return { column: this.column, aggregates: this.aggregates, groups, truncated: this.other > 0 || this.groups.size > limit, other_rows: this.other };
  }
}

function value(op: Aggregate["op"], acc: Acc, i: number): number | null {
  if (op === "count") return acc.present[i]!;
  const n = acc.n[i]!;
  if (n === 0) return null;
  if (op === "sum") return acc.sum[i]!;
  if (op === "mean") return acc.sum[i]! / n;
  return op === "min" ? acc.min[i]! : acc.max[i]!;
}
