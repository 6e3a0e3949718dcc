/**
 * Schema and table allow-lists. Entries are "schema", "schema.table", "schema.*" or a bare "table" (which
 * means the table in the database's default schema). Comparison ignores case. An unqualified reference in a
 * query is taken to be in the default schema, so a catalog view reached through the search path
 * (PostgreSQL's pg_stats, say) is refused unless it is listed.
 */
import { cteNames, fromTables, parserTableList } from "./ast.ts";
import type { Dialect } from "./dialect.ts";

export interface TableRef {
  schema: string | null;
  table: string;
}

export class TableAllowList {
  private readonly schemas: Set<string> | null;
  private readonly tables: Set<string> | null;
  private readonly defaultSchema: string;

  constructor(allow: { schemas?: string[]; tables?: string[] } | undefined, defaultSchema: string) {
    this.defaultSchema = defaultSchema.toLowerCase();
    this.schemas = allow?.schemas ? new Set(allow.schemas.map((s) => s.toLowerCase())) : null;
    this.tables = allow?.tables ? new Set(allow.tables.map((t) => this.qualify(t))) : null;
  }

  get active(): boolean {
    return this.schemas !== null || this.tables !== null;
  }

  allows(ref: TableRef): boolean {
    if (!this.active) return true;
    const schema = (ref.schema ?? this.defaultSchema).toLowerCase();
    if (this.schemas?.has(schema)) return true;
    return Boolean(this.tables?.has(`${schema}.${ref.table.toLowerCase()}`) || this.tables?.has(`${schema}.*`));
  }

  private qualify(entry: string): string {
    const e = entry.toLowerCase();
    return e.includes(".") ? e : `${this.defaultSchema}.${e}`;
  }
}

/** Every table a statement reads, from the parser's own list and a walk of FROM items, minus its CTEs. */
export function referencedTables(sql: string, dialect: Dialect, ast: unknown): TableRef[] {
  const ctes = cteNames(ast);
  const refs: TableRef[] = [...fromTables(ast)];
  for (const entry of parserTableList(sql, dialect)) {
    const [, schema, table] = entry.split("::");
    if (table) refs.push({ schema: schema === "null" || !schema ? null : schema, table });
  }
  return refs.filter((r) => r.schema !== null || !ctes.has(r.table.toLowerCase()));
}

/** The first table the allow-list refuses, as a reason, or null when all are allowed. */
export function tableReason(list: TableAllowList, refs: TableRef[]): string | null {
  const bad = refs.find((r) => !list.allows(r));
  if (!bad) return null;
  const name = bad.schema ? `${bad.schema}.${bad.table}` : bad.table;
  return `table ${name} is not in this runner's allow-list`;
}
