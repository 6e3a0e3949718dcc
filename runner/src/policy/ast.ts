/**
 * Small helpers over node-sql-parser's AST. Its shapes differ between dialects and versions (a column name
 * is a string in one and `{ expr: { value } }` in another), so the checks walk it generically and treat
 * anything they do not recognise conservatively.
 */
import { createRequire } from "node:module";
import type { Parser } from "node-sql-parser";
import type { Dialect } from "./dialect.ts";

export type AstNode = { [key: string]: unknown };

// node-sql-parser's main module carries the grammar of every dialect it knows (about 23 MB of resident
// memory); each dialect also ships alone, so a runner loads only the one its database speaks, on first use.
const require = createRequire(import.meta.url);
const parsers = new Map<Dialect, Parser>();
function parserFor(dialect: Dialect): Parser {
  let p = parsers.get(dialect);
  if (!p) {
    const mod = require(`node-sql-parser/build/${dialect}.js`) as { Parser: new () => Parser };
    parsers.set(dialect, (p = new mod.Parser()));
  }
  return p;
}

export const isNode = (v: unknown): v is AstNode => typeof v === "object" && v !== null && !Array.isArray(v);

/** Every statement in `sql` as parsed in `dialect`; throws the parser's error when it cannot parse. */
export function parseStatements(sql: string, dialect: Dialect): AstNode[] {
  const ast: unknown = parserFor(dialect).astify(sql, { database: dialect });
  const list: unknown[] = Array.isArray(ast) ? ast : [ast];
  return list.filter(isNode);
}

/** node-sql-parser's own list of referenced tables as "op::schema::table". */
export function parserTableList(sql: string, dialect: Dialect): string[] {
  return parserFor(dialect).tableList(sql, { database: dialect });
}

/** Calls `visit` on every object node under `root`, depth first, with the key it was found under. */
export function walk(root: unknown, visit: (node: AstNode, key: string | null) => void, key: string | null = null) {
  if (Array.isArray(root)) {
    for (const item of root) walk(item, visit, key);
    return;
  }
  if (!isNode(root)) return;
  visit(root, key);
  for (const [k, v] of Object.entries(root)) {
    if (typeof v === "object" && v !== null) walk(v, visit, k);
  }
}

const text = (v: unknown): string | null => {
  if (typeof v === "string") return v;
  if (isNode(v) && typeof v.value === "string") return v.value;
  if (isNode(v) && isNode(v.expr)) return text(v.expr);
  return null;
};

/** The parser's node types for a call: `tablefunc` is how it reads crosstab(…) in FROM. */
const FUNCTION_TYPES = new Set(["function", "aggr_func", "window_func", "tablefunc"]);

/** The unqualified name of a call's node, lower case. */
export function functionName(node: AstNode): string | null {
  if (!FUNCTION_TYPES.has(String(node.type))) return null;
  const name = node.name;
  if (typeof name === "string") return name.toLowerCase();
  if (isNode(name) && Array.isArray(name.name)) {
    const last: unknown = name.name[name.name.length - 1];
    const t = text(last);
    return t ? t.toLowerCase() : null;
  }
  return null;
}

/**
 * The column segment of a `column_ref` node's name. PostgreSQL's parser gives a four-part name
 * (`db.schema.table.column`) no `table`, and the whole dotted name as the column: a chain of "." expressions
 * whose rightmost part is the column.
 */
function columnPart(node: AstNode): { name: unknown; dotted: boolean } {
  const expr = isNode(node.column) ? node.column.expr : null;
  if (!isNode(expr) || expr.type !== "binary_expr" || expr.operator !== ".") return { name: node.column, dotted: false };
  return { name: expr.right, dotted: true };
}

/** The column name of a `column_ref` node ("*" for a star), lower case. */
export function columnName(node: AstNode): string | null {
  if (node.type !== "column_ref") return null;
  const t = text(columnPart(node).name);
  return t ? t.toLowerCase() : null;
}

/** The column name of a `column_ref` written with a qualifier (`x.f`, `s.t.f`, `db.s.t.f`), lower case. */
export function qualifiedColumnName(node: AstNode): string | null {
  const name = columnName(node);
  const qualified = (node.table !== null && node.table !== undefined) || columnPart(node).dotted;
  return name !== null && qualified ? name : null;
}

const PLAIN_COLUMN_KEYS = new Set(["type", "db", "schema", "table", "column", "collate"]);

/**
 * A column reference with nothing around it, which every database names after the column: MySQL and SQLite
 * name `ssn COLLATE utf8mb4_bin` by its text, so with a COLLATE (or parentheses, a subscript, anything the
 * parser hangs on the node) the output column no longer bears a masked column's name.
 */
export function isPlainColumnRef(node: AstNode): boolean {
  const collate = node.collate;
  return node.type === "column_ref" && (collate === null || collate === undefined) && Object.keys(node).every((k) => PLAIN_COLUMN_KEYS.has(k));
}

/** A table in a FROM or JOIN item: a `{ db, table }` node that is not a column reference. */
export const isTableRef = (node: AstNode): node is AstNode & { table: string } =>
  node.type !== "column_ref" && typeof node.table === "string" && "db" in node;

/** A WITH item's name, lower case. */
export function cteName(cte: unknown): string | null {
  const n = isNode(cte) ? text(cte.name) : null;
  return n ? n.toLowerCase() : null;
}

/** A call, with its schema when it names one (`hr.people_fn(1)`). */
export interface Call {
  schema: string | null;
  name: string;
  args: AstNode[];
}

function callOf(node: AstNode): Call | null {
  if (node.type !== "function" || !isNode(node.name) || !Array.isArray(node.name.name)) return null;
  const parts: unknown[] = node.name.name;
  const name = text(parts[parts.length - 1]);
  if (!name) return null;
  const schema = text(node.name.schema) ?? (parts.length > 1 ? text(parts[parts.length - 2]) : null);
  const args = isNode(node.args) && Array.isArray(node.args.value) ? node.args.value.filter(isNode) : [];
  return { schema, name, args };
}

/** The name of a call written without its schema (`f()`, `my_agg(x)`), lower case. */
export function unqualifiedCallName(node: AstNode): string | null {
  const name = functionName(node);
  return name !== null && !callOf(node)?.schema ? name : null;
}

/** Calls standing where a table stands: `FROM hr.people_fn()`, and what T-SQL's `FROM t (NOLOCK)` parses as. */
export function fromCalls(root: unknown): Call[] {
  const out: Call[] = [];
  walk(root, (node) => {
    if (!Array.isArray(node.from)) return;
    for (const item of node.from) {
      const call = isNode(item) && isNode(item.expr) ? callOf(item.expr) : null;
      if (call) out.push(call);
    }
  });
  return out;
}

/** Every call of a schema-qualified name, wherever it stands: `SELECT hr.all_salaries()` as `FROM hr.f()`. */
export function schemaCalls(root: unknown): (Call & { schema: string })[] {
  const out: (Call & { schema: string })[] = [];
  walk(root, (node) => {
    const call = callOf(node);
    if (call?.schema) out.push({ ...call, schema: call.schema });
  });
  return out;
}

/**
 * T-SQL's table hints, which it takes in parentheses after a table with no WITH (`FROM t (NOLOCK)`): the
 * parser reads that as a call of `t`, so the table escaped the allow-list and a lock hint the lock check.
 */
const TSQL_TABLE_HINTS = new Set([
  "FORCESCAN", "FORCESEEK", "HOLDLOCK", "NOEXPAND", "NOLOCK", "NOWAIT", "PAGLOCK", "READCOMMITTED", "READCOMMITTEDLOCK",
  "READPAST", "READUNCOMMITTED", "REPEATABLEREAD", "ROWLOCK", "SERIALIZABLE", "SNAPSHOT", "TABLOCK", "TABLOCKX", "UPDLOCK", "XLOCK",
]);

/** The hint words of a FROM call that is really a T-SQL table with hints, or null when it is a call. */
export function tsqlHintWords(call: Call): string[] | null {
  if (!call.args.length) return null;
  const words = call.args.map((a) => (a.type === "column_ref" && a.table === null ? text(a.column)?.toUpperCase() : undefined));
  return words.every((w): w is string => w !== undefined && TSQL_TABLE_HINTS.has(w)) ? words : null;
}
