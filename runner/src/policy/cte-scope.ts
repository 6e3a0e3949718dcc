/**
 * The tables a statement reads, each unqualified name resolved against the WITH names in scope where it
 * stands. Taking every CTE name anywhere in the statement as a CTE everywhere let `SELECT * FROM customers,
 * (WITH customers AS (SELECT 1) SELECT * FROM customers) q`, and a CTE reading `customers` before a sibling of
 * that name, read the real table past the allow-list.
 *
 * A WITH's names are visible in its own query (the selects its set operations chain, unless the WITH is
 * inside the parentheses of the first) and in what that query nests; in a CTE's own body, as each database
 * resolves them (checked against PostgreSQL 15, MariaDB 10.11 and SQLite 3):
 * - PostgreSQL, MySQL, MariaDB: the CTEs before it; under RECURSIVE, PostgreSQL and MariaDB all of them, MySQL
 *   those before it and itself. Where a name is not yet visible, it is the real table.
 * - SQLite: all of them, RECURSIVE or not.
 * - SQL Server: those before it and itself (a CTE that names itself is recursive).
 */
import { cteName, isNode, isTableRef } from "./ast.ts";
import type { Dialect } from "./dialect.ts";
import type { TableRef } from "./tables.ts";

export interface ScopedRef extends TableRef {
  /** An unqualified name that stands for a CTE in scope where it is written, not for a table. */
  cte: boolean;
}

export function scopedTableRefs(root: unknown, dialect: Dialect): ScopedRef[] {
  const out: ScopedRef[] = [];
  visit(root, new Set(), dialect, out);
  return out;
}

function visit(value: unknown, scope: ReadonlySet<string>, dialect: Dialect, out: ScopedRef[]): void {
  if (Array.isArray(value)) {
    for (const item of value) visit(item, scope, dialect, out);
    return;
  }
  if (!isNode(value)) return;
  if (isTableRef(value)) {
    const schema = typeof value.db === "string" ? value.db : null;
    out.push({ schema, table: value.table, cte: schema === null && scope.has(value.table.toLowerCase()) });
  }
  const ctes: unknown[] = Array.isArray(value.with) ? value.with : [];
  const names = ctes.map(cteName);
  const recursive = ctes.some((c) => isNode(c) && c.recursive === true);
  ctes.forEach((cte, i) => visit(cte, widen(scope, names.slice(0, visibleInBody(dialect, recursive, i, names.length))), dialect, out));
  const inner = widen(scope, names);
  // `(WITH x AS (…) SELECT …) UNION SELECT … FROM x`: the second select's x is the table.
  const nextScope = value.parentheses_symbol === true ? scope : inner;
  for (const [key, child] of Object.entries(value)) {
    if (key !== "with" && typeof child === "object" && child !== null) visit(child, key === "_next" ? nextScope : inner, dialect, out);
  }
}

/** How many of a WITH's names, from the first, the body of its `i`th CTE sees. */
function visibleInBody(dialect: Dialect, recursive: boolean, i: number, count: number): number {
  if (dialect === "sqlite") return count;
  if (recursive && (dialect === "postgresql" || dialect === "mariadb")) return count;
  if (recursive || dialect === "transactsql") return i + 1;
  return i;
}

function widen(scope: ReadonlySet<string>, names: (string | null)[]): ReadonlySet<string> {
  const added = names.filter((n): n is string => n !== null);
  return added.length ? new Set([...scope, ...added]) : scope;
}
