/**
 * What the tool answers: small results inline as a table; large ones as a summary (row count, columns,
 * the first rows, numeric ranges) with the whole result stored in R2 as NDJSON behind a link.
 */
import { queryResultKey, NDJSON, type QueryRows } from "../../../../../lib/protocol/runner-hub.js";

/**
 * Characters of one cell shown in the table: a text or JSON column of megabytes would otherwise fill the
 * model's context alone. The whole value stays in the tool's data (and in R2 for a stored result).
 */
export const CELL_MAX_CHARS = 200;

export function table(columns: { name: string }[], rows: unknown[][], maxCell = CELL_MAX_CHARS): string {
  const cell = (v: unknown) => clip(v === null ? "NULL" : typeof v === "string" ? v : String(JSON.stringify(v)), maxCell).replace(/\|/g, "\\|").replace(/\n/g, " ");
  return [`| ${columns.map((c) => c.name).join(" | ")} |`, `|${columns.map(() => " --- ").join("|")}|`, ...rows.map((r) => `| ${r.map(cell).join(" | ")} |`)].join("\n");
}

const clip = (s: string, max: number) => (s.length <= max ? s : `${s.slice(0, max)}… (${s.length} chars)`);

export function numericRanges(r: QueryRows): string[] {
  return r.columns.flatMap((c, i) => {
    const nums = r.rows.map((row) => row[i]).filter((v) => v !== null && v !== "" && !Number.isNaN(Number(v))).map(Number);
    if (nums.length < r.rows.length / 2 || !nums.length) return [];
    let [min, max, sum] = [Infinity, -Infinity, 0];
    for (const n of nums) [min, max, sum] = [Math.min(min, n), Math.max(max, n), sum + n];
    return [`${c.name}: min ${min}, max ${max}, sum ${sum}`];
  });
}

export async function storeResult(bucket: R2Bucket, tenantId: string, id: string, r: QueryRows) {
  const lines = [JSON.stringify({ columns: r.columns }), ...r.rows.map((row) => JSON.stringify(row)), JSON.stringify({ done: { rowCount: r.rowCount, truncated: r.truncated, elapsedMs: r.elapsedMs } })];
  await bucket.put(queryResultKey(tenantId, id), lines.join("\n") + "\n", { httpMetadata: { contentType: NDJSON } });
  return `/v1/query-results/${id}`;
}
