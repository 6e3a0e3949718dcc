/**
 * Turns a stream of rows (the first is the header) into the analysis result. Format readers (CSV, XLSX)
 * feed it; it never holds more than one row plus the bounded statistics.
 */
import type { AnalysisParams } from "../../../../../lib/protocol/heavy.js";
import { ColumnStats, type ColumnSummary } from "./column-stats.js";
import { GroupBy, type GroupByResult } from "./group-by.js";
import { JobFailure } from "../../job-failure.js";

export interface AnalysisLimits {
  topCapacity: number;
  topN: number;
  maxGroups: number;
  maxColumns: number;
}

export interface AnalysisResult {
  format: "csv" | "xlsx";
  rows: number;
  columns: ColumnSummary[];
  group_by: GroupByResult | null;
}

export class Analyzer {
  private columns: ColumnStats[] | null = null;
  private groupBy: GroupBy | null;
  rows = 0;

  constructor(
    params: AnalysisParams,
    private readonly limits: AnalysisLimits,
  ) {
    this.groupBy = params.group_by ? new GroupBy(params.group_by, params.aggregates ?? [{ column: params.group_by, op: "count" }], limits.maxGroups) : null;
  }

  row(fields: string[]): void {
    if (!this.columns) return this.header(fields);
    this.rows++;
    const cols = this.columns;
    for (let i = 0; i < cols.length; i++) cols[i]!.add(fields[i]);
    this.groupBy?.add(fields);
  }

  result(format: AnalysisResult["format"]): AnalysisResult {
    if (!this.columns) throw new JobFailure("empty_file", "The file has no header row.");
    return {
      format,
      rows: this.rows,
      columns: this.columns.map((c) => c.summary(this.limits.topN)),
      group_by: this.groupBy ? this.groupBy.result(this.limits.maxGroups) : null,
    };
  }

  private header(fields: string[]) {
    if (fields.length > this.limits.maxColumns) throw new JobFailure("too_many_columns", `The file has ${fields.length} columns; at most ${this.limits.maxColumns} are analysed.`);
    const seen = new Map<string, number>();
    const names = fields.map((f, i) => {
      const base = f.trim() || `column_${i + 1}`;
      const n = (seen.get(base) ?? 0) + 1;
      seen.set(base, n);
      return n > 1 ? `${base}_${n}` : base;
    });
    this.columns = names.map((n) => new ColumnStats(n, this.limits.topCapacity));
    const missing = this.groupBy?.bind(names) ?? [];
    if (missing.length) throw new JobFailure("unknown_column", `No column named ${missing.map((m) => `'${m}'`).join(", ")} in the file (columns: ${names.slice(0, 20).join(", ")}).`);
  }
}

/** A short plain-language summary for the chat and the task's `summary`. */
export function summarise(r: AnalysisResult, filename: string): string {
  const cols = r.columns.map((c) => {
    const range = c.min !== null && (c.type === "integer" || c.type === "number") ? ` ${fmt(c.min)}..${fmt(c.max)}, mean ${fmt(c.mean)}` : "";
    return `${c.name} (${c.type}${c.nulls ? `, ${c.nulls} null` : ""}${range})`;
  });
  const head = `${filename}: ${r.rows} rows, ${r.columns.length} columns: ${cols.slice(0, 12).join("; ")}${cols.length > 12 ? "; …" : ""}.`;
  if (!r.group_by) return head;
  const g = r.group_by;
  // Past the group cap the kept groups are the first keys seen, not necessarily the largest: say so.
  const which = g.other_rows > 0 ? `largest of those kept (${g.other_rows} rows fell in groups past the cap)` : "largest";
  return `${head} Grouped by ${g.column}: ${g.groups.length}${g.truncated ? "+" : ""} groups, ${which} ${g.groups.slice(0, 3).map((x) => `${x.key} (${x.rows})`).join(", ")}.`;
}

const fmt = (v: unknown) => (typeof v === "number" ? (Number.isInteger(v) ? String(v) : v.toFixed(3)) : String(v));
