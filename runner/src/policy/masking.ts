/**
 * Column masking. A masked column may be selected as is in the outermost SELECT list (its values then leave
 * the runner as "****"), but may not be used anywhere else — not renamed, computed on, filtered, sorted or
 * joined on — since each of those would let its values out under another name or by inference. When masking
 * is configured, whole-row references (`row_to_json(u)`, `t.*` inside an expression) are refused too.
 */
import { columnName, isNode, isPlainColumnRef, isTableRef, walk, type AstNode } from "./ast.ts";
import type { Dialect } from "./dialect.ts";
import { comparedOnMasked, joinedOnMasked, misreadReason } from "./masking-oracles.ts";

export const MASK = "****";

/** Masked column names (the last segment of "table.column"), lower case. */
export const maskedNames = (entries: readonly string[]) =>
  new Set(entries.map((e) => e.split(".").pop()!.toLowerCase()));

/** `tokens` are the lexer's, for what the parser misreads (NATURAL joins, MariaDB's DISTINCTROW). */
export function maskingReason(stmt: AstNode, masked: ReadonlySet<string>, dialect: Dialect, tokens: readonly string[]): string | null {
  if (masked.size === 0) return null;
  const allowed = topLevelPlainRefs(stmt, masked);
  const items = fromItems(stmt);
  const aliases = rowNames(stmt, items);
  let reason: string | null = null;
  walk(stmt, (node) => {
    reason ??= joinedOnMasked(node, masked) ?? positionalMasked(node, masked) ?? (items.has(node) ? aliasColumnList(node) : null);
    const col = columnName(node);
    if (reason || col === null || allowed.has(node)) return;
    if (masked.has(col)) reason = `column ${col} is masked: it may only be selected as is, not used in expressions`;
    else if (node.table === null && aliases.has(col)) reason = "whole-row references are not allowed while columns are masked";
    else if (dialect === "postgresql" && typeof node.table === "string" && ROW_FUNCTIONS.has(col)) reason = functionalNotation(node.table, col);
  });
  reason ??= starInsideExpression(stmt) ?? misreadReason(tokens, dialect);
  if (!reason && (allowed.size > 0 || hasTopLevelStar(stmt))) reason = comparedOnMasked(stmt);
  return reason;
}

/**
 * PostgreSQL reads `c.f` as `f(c)` when `c` has no column `f` (its functional notation, casts included), so
 * `SELECT c.to_jsonb FROM customers c` gave every column of the row, masked ones too. These names take a
 * whole row; while columns are masked they are refused qualified (a column of that name may be written bare).
 */
const ROW_FUNCTIONS = new Set([
  "to_json", "to_jsonb", "row_to_json", "json_build_array", "jsonb_build_array", "json_agg", "jsonb_agg", "array_agg",
  "hstore", "concat", "quote_literal", "quote_nullable", "text", "varchar", "bpchar", "name", "citext", "json", "jsonb",
  // The row as text or bytes, its hash (guesses can be hashed offline), its size and its NULLs.
  "record_out", "record_send", "hash_record", "hash_record_extended", "pg_column_size", "num_nulls", "num_nonnulls",
]);
const functionalNotation = (table: string, col: string) =>
  `${table}.${col} may be ${col}(${table}), the whole row, in PostgreSQL: not allowed while columns are masked (write a column of that name unqualified)`;

/**
 * PostgreSQL's `FROM customers AS c(i, n, s)` renames the table's columns, so `s` gave the masked column's
 * values under another name; `FROM (customers JOIN orders USING (id)) AS j(a, b, c, d)` the join's. The parser
 * keeps the list in the alias text. A subquery or VALUES may carry one: what they select is checked where it
 * stands; the columns of anything else in FROM (a table, a function, a join) are not.
 */
function aliasColumnList(item: AstNode): string | null {
  if (typeof item.as !== "string" || !item.as.includes("(") || selectsItsOwn(item)) return null;
  return `a column list after an alias (${item.as}) renames the columns of a table, function or join, masked ones too: not allowed while columns are masked`;
}

/** A subquery or VALUES in FROM: its select list is checked where it stands. */
const selectsItsOwn = (item: AstNode) => isNode(item.expr) && (isNode(item.expr.ast) || item.expr.type === "values");

/**
 * `ORDER BY 2`, `GROUP BY 2`, `DISTINCT ON (2)` name a select item by its place: one that is masked (or a
 * star, which may hold one) is refused as its name is.
 */
function positionalMasked(node: AstNode, masked: ReadonlySet<string>): string | null {
  if (node.type !== "select" || !Array.isArray(node.columns)) return null;
  const items: unknown[] = node.columns;
  const names = items.map((item) => (isNode(item) && isNode(item.expr) ? columnName(item.expr) : null));
  // After a star no position is known: any may be a masked column.
  const star = names.indexOf("*");
  const groupBy = isNode(node.groupby) ? node.groupby.columns : node.groupby;
  const distinct = isNode(node.distinct) ? node.distinct.columns : null;
  for (const e of [node.orderby, groupBy, distinct].flatMap((l) => (Array.isArray(l) ? l : []))) {
    const n = positionOf(e);
    if (n === null) continue;
    const name = names[n - 1] ?? null;
    const unknown = star >= 0 && n > star;
    if (unknown || (name !== null && masked.has(name))) return `column ${n} of the select list ${unknown ? "may be" : "is"} masked: it may not be sorted, grouped or made distinct on by position`;
  }
  return null;
}

const positionOf = (e: unknown): number | null => {
  const n = isNode(e) && isNode(e.expr) ? e.expr : e;
  return isNode(n) && n.type === "number" && typeof n.value === "number" ? n.value : null;
};

/** Output column positions whose name is masked. */
export function maskIndexes(columns: readonly { name: string }[], masked: ReadonlySet<string>): number[] {
  return columns.flatMap((c, i) => (masked.has(c.name.toLowerCase()) ? [i] : []));
}

/** Plain `col` / `t.col` (not renamed) in the outermost SELECT list: the one place a masked column may appear. */
function topLevelPlainRefs(stmt: AstNode, masked: ReadonlySet<string>): Set<AstNode> {
  const out = new Set<AstNode>();
  const columns = Array.isArray(stmt.columns) ? stmt.columns : [];
  for (const item of columns) {
    if (!isNode(item) || !isNode(item.expr) || !isPlainColumnRef(item.expr)) continue;
    const name = columnName(item.expr);
    const alias = typeof item.as === "string" ? item.as.toLowerCase() : null;
    if (name && masked.has(name) && (alias === null || alias === name)) out.add(item.expr);
  }
  return out;
}

/** The items of every FROM list, those inside a parenthesised join included. */
function fromItems(stmt: AstNode): Set<AstNode> {
  const items = new Set<AstNode>();
  walk(stmt, (node) => {
    const list: unknown = Array.isArray(node.from) ? node.from : node.type === "tables" ? node.expr : null;
    if (Array.isArray(list)) for (const item of list) if (isNode(item)) items.add(item);
  });
  return items;
}

/**
 * Names that, written as a column, stand for a whole row: every table's name and every FROM item's alias.
 * Not only a table's: PostgreSQL reads the alias of a parenthesised join (`FROM (customers JOIN orders USING
 * (id)) AS j`) or of a function as the joined or returned row, so `SELECT j`, `to_jsonb(j)` and `j::text` gave
 * the masked column's value inside it. A subquery's alias is taken too (one rule for every FROM item); a
 * function returning one value names its column after the alias: write that column qualified (`n.n`).
 */
function rowNames(stmt: AstNode, items: ReadonlySet<AstNode>): Set<string> {
  const names = new Set<string>();
  walk(stmt, (node) => {
    if (isTableRef(node)) names.add(node.table.toLowerCase());
  });
  for (const item of items) {
    const alias = typeof item.as === "string" ? item.as.replace(/\(.*$/s, "").trim() : "";
    if (alias) names.add(alias.toLowerCase());
  }
  return names;
}

const hasTopLevelStar = (stmt: AstNode) =>
  (Array.isArray(stmt.columns) ? stmt.columns : []).some((item) => isNode(item) && isNode(item.expr) && columnName(item.expr) === "*");

function starInsideExpression(stmt: AstNode): string | null {
  const topLevel = new Set<unknown>();
  for (const item of Array.isArray(stmt.columns) ? stmt.columns : []) if (isNode(item)) topLevel.add(item.expr);
  let reason: string | null = null;
  walk(stmt, (node) => {
    if (reason || columnName(node) !== "*" || topLevel.has(node)) return;
    reason = "star (*) inside an expression or subquery is not allowed while columns are masked";
  });
  return reason;
}
