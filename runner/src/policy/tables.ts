/**
 * Schema and table allow-lists. Entries are "schema", "schema.table", "schema.*" or a bare "table" (which
 * means the table in the database's default schema). Comparison ignores case. An unqualified reference in a
 * query is taken to be in the default schema, except where the database looks elsewhere first: PostgreSQL
 * searches pg_catalog before any schema, so an unqualified pg_stats is pg_catalog's, and is refused unless
 * pg_catalog is listed (taken as public's, it passed an allow-list of public and showed other schemas' data).
 */
import { fromCalls, parserTableList, qualifiedColumnName, schemaCalls, tsqlHintWords, unqualifiedCallName, walk, type Call } from "./ast.ts";
import { scopedTableRefs } from "./cte-scope.ts";
import type { Dialect } from "./dialect.ts";

export interface TableRef {
  schema: string | null;
  table: string;
  /** A schema's function, called in FROM or anywhere else: it reads what its schema holds. */
  call?: true;
}

export class TableAllowList {
  private readonly schemas: Set<string> | null;
  private readonly tables: Set<string> | null;
  private readonly defaultSchema: string;

  private readonly dialect: Dialect | null;

  constructor(allow: { schemas?: string[]; tables?: string[] } | undefined, defaultSchema: string, dialect: Dialect | null = null) {
    this.dialect = dialect;
    this.defaultSchema = defaultSchema.toLowerCase();
    this.schemas = allow?.schemas ? new Set(allow.schemas.map((s) => s.toLowerCase())) : null;
    this.tables = allow?.tables ? new Set(allow.tables.map((t) => this.qualify(t))) : null;
  }

  get active(): boolean {
    return this.schemas !== null || this.tables !== null;
  }

  allows(ref: TableRef): boolean {
    if (!this.active) return true;
    const schema = (ref.schema ?? schemaOfUnqualified(ref.table, this.dialect) ?? this.defaultSchema).toLowerCase();
    if (this.schemas?.has(schema)) return true;
    return Boolean(this.tables?.has(`${schema}.${ref.table.toLowerCase()}`) || this.tables?.has(`${schema}.*`));
  }

  private qualify(entry: string): string {
    const e = entry.toLowerCase();
    return e.includes(".") ? e : `${this.defaultSchema}.${e}`;
  }
}

/** PostgreSQL's catalog relations are all named pg_*, and pg_catalog is searched before the search path. */
function schemaOfUnqualified(table: string, dialect: Dialect | null): string | null {
  return dialect === "postgresql" && /^pg_/i.test(table) ? "pg_catalog" : null;
}

/**
 * Catalog views that hold sample values of any column (the planner's statistics: most common values,
 * histograms), whatever the allow-list says: with columns masked, they would show the masked values. SQLite's
 * sqlite_stat1-4 too (stat4 keeps sampled index keys). SQL Server's histograms come from DBCC and
 * sys.dm_db_stats_histogram, which the deny list refuses.
 */
const STATISTICS = new Set(["pg_catalog.pg_stats", "pg_catalog.pg_stats_ext", "pg_catalog.pg_stats_ext_exprs", "pg_catalog.pg_statistic", "pg_catalog.pg_statistic_ext_data", "information_schema.column_statistics"]);

/** A reason when masking is on and the statement reads the planner's statistics, or null. */
export function statisticsReason(refs: TableRef[], dialect: Dialect, masking: boolean): string | null {
  if (!masking) return null;
  const bad = refs.find(
    (r) => STATISTICS.has(`${(r.schema ?? schemaOfUnqualified(r.table, dialect) ?? "").toLowerCase()}.${r.table.toLowerCase()}`) || (dialect === "sqlite" && /^sqlite_stat\d$/i.test(r.table)),
  );
  return bad ? `${bad.table} holds sample values of columns, masked ones included: not allowed while columns are masked` : null;
}

/**
 * The default schema's own functions, read from the database with its tables (at start and on every schema
 * read): the database resolves an unqualified call there as it resolves an unqualified table name, so
 * `SELECT f()` read what `public.f()` reads. Empty until the first read.
 */
export interface DefaultSchemaFunctions {
  schema: string;
  /** Lower case. */
  names: ReadonlySet<string>;
}

/** Unqualified calls of the default schema's functions, as that schema's: PostgreSQL's `x.f` too, which is f(x). */
function defaultSchemaCalls(ast: unknown, dialect: Dialect, functions: DefaultSchemaFunctions): TableRef[] {
  const refs: TableRef[] = [];
  if (!functions.names.size) return refs;
  walk(ast, (node) => {
    const name = unqualifiedCallName(node) ?? (dialect === "postgresql" ? qualifiedColumnName(node) : null);
    if (name && functions.names.has(name)) refs.push({ schema: functions.schema, table: name, call: true });
  });
  return refs;
}

/** Every table a statement reads, from a walk that resolves CTE names where they stand and the parser's own list. */
export function referencedTables(sql: string, dialect: Dialect, ast: unknown, functions?: DefaultSchemaFunctions): TableRef[] {
  const scoped = scopedTableRefs(ast, dialect);
  const refs: TableRef[] = scoped.filter((r) => !r.cte).map(({ schema, table }) => ({ schema, table }));
  const ctes = new Set(scoped.filter((r) => r.cte).map((r) => r.table.toLowerCase()));
  // T-SQL's `FROM t (NOLOCK)` parses as a call of t. Any other schema's function, wherever it is called,
  // reads that schema: the allow-list covers it as a table. An unqualified one (generate_series, lower) is a
  // builtin's name, unless the default schema has a function of that name.
  const hinted = (call: Call) => dialect === "transactsql" && tsqlHintWords(call) !== null;
  for (const call of fromCalls(ast)) if (hinted(call)) refs.push({ schema: call.schema, table: call.name });
  for (const call of schemaCalls(ast)) if (!hinted(call)) refs.push({ schema: call.schema, table: call.name, call: true });
  if (functions) refs.push(...defaultSchemaCalls(ast, dialect, functions));
  // The parser's list says nothing of where a name stands: an unqualified one is dropped only when the walk
  // found it standing for a CTE (where it stands for the table too, the walk has it already).
  for (const entry of parserTableList(sql, dialect)) {
    const [, schema, table] = entry.split("::");
    const qualified = schema !== "null" && Boolean(schema);
    if (table && (qualified || !ctes.has(table.toLowerCase()))) refs.push({ schema: qualified ? schema! : null, table });
  }
  return refs;
}

/** The first table the allow-list refuses, as a reason, or null when all are allowed. */
export function tableReason(list: TableAllowList, refs: TableRef[]): string | null {
  const bad = refs.find((r) => !list.allows(r));
  if (!bad) return null;
  const name = bad.schema ? `${bad.schema}.${bad.table}` : bad.table;
  return bad.call ? `function ${name}() is not in this runner's allow-list (a schema's function reads what its schema holds)` : `table ${name} is not in this runner's allow-list`;
}
