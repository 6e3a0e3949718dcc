/**
 * Database values to JSON-safe values for `rows` frames: dates as ISO strings, bytes as `\x…` hex, big
 * integers as decimal strings (a JSON number would lose precision past 2^53), NaN and ±Infinity as the strings
 * "NaN", "Infinity", "-Infinity".
 */
export function toJsonValue(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === "bigint") return v.toString();
  // JSON writes NaN and ±Infinity as null, which reads as SQL NULL: keep them as the words PostgreSQL prints.
  if (typeof v === "number" && !Number.isFinite(v)) return String(v);
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v.toISOString();
  if (v instanceof Uint8Array) return "\\x" + Buffer.from(v).toString("hex");
  return v;
}

export const encodeRow = (row: unknown[]): unknown[] => row.map(toJsonValue);

/** Groups introspection rows (schema, table, column, type, nullable) into tables, in the order given. */
export function groupTables(
  rows: { schema: string | null; table: string; column: string; type: string; nullable: boolean }[],
) {
  const tables = new Map<string, { schema: string | null; name: string; columns: { name: string; type: string; nullable: boolean }[] }>();
  for (const r of rows) {
    const key = `${r.schema ?? ""}.${r.table}`;
    let t = tables.get(key);
    if (!t) tables.set(key, (t = { schema: r.schema, name: r.table, columns: [] }));
    t.columns.push({ name: r.column, type: r.type, nullable: r.nullable });
  }
  return [...tables.values()];
}
