/**
 * Column masking. A masked column may be selected as is in the outermost SELECT list (its values then leave
 * the runner as "****"), but may not be used anywhere else — not renamed, computed on, filtered, sorted or
 * joined on — since each of those would let its values out under another name or by inference. When masking
 * is configured, whole-row references (`row_to_json(u)`, `t.*` inside an expression) are refused too.
 */
import { columnName, isNode, walk, type AstNode } from "./ast.ts";

export const MASK = "****";

/** Masked column names (the last segment of "table.column"), lower case. */
export const maskedNames = (entries: readonly string[]) =>
  new Set(entries.map((e) => e.split(".").pop()!.toLowerCase()));

export function maskingReason(stmt: AstNode, masked: ReadonlySet<string>): string | null {
  if (masked.size === 0) return null;
  const allowed = topLevelPlainRefs(stmt, masked);
  const aliases = tableNames(stmt);
  let reason: string | null = null;
  walk(stmt, (node) => {
    const col = columnName(node);
    if (reason || col === null || allowed.has(node)) return;
    if (masked.has(col)) reason = `column ${col} is masked: it may only be selected as is, not used in expressions`;
    else if (node.table === null && aliases.has(col)) reason = "whole-row references are not allowed while columns are masked";
  });
  reason ??= starInsideExpression(stmt);
  return reason;
}

/** Output column positions whose name is masked. */
export function maskIndexes(columns: readonly { name: string }[], masked: ReadonlySet<string>): number[] {
  return columns.flatMap((c, i) => (masked.has(c.name.toLowerCase()) ? [i] : []));
}

/** Plain `col` / `t.col` (not renamed) in the outermost SELECT list: the one place a masked column may appear. */
function topLevelPlainRefs(stmt: AstNode, masked: ReadonlySet<string>): Set<AstNode> {
  const out = new Set<AstNode>();
  const columns = Array.isArray(stmt.columns) ? stmt.columns : [];
  for (const item of columns) {
    if (!isNode(item) || !isNode(item.expr)) continue;
    const name = columnName(item.expr);
    const alias = typeof item.as === "string" ? item.as.toLowerCase() : null;
    if (name && masked.has(name) && (alias === null || alias === name)) out.add(item.expr);
  }
  return out;
}

function tableNames(stmt: AstNode): Set<string> {
  const names = new Set<string>();
  walk(stmt, (node) => {
    if (node.type === "column_ref" || typeof node.table !== "string" || !("db" in node)) return;
    names.add(node.table.toLowerCase());
    if (typeof node.as === "string") names.add(node.as.toLowerCase());
  });
  return names;
}

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
