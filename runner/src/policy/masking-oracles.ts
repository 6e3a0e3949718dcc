/**
 * Ways a query can compare a masked column's real values with guesses while showing only "****": rows that
 * match or drop out tell the value. Joins that match on it (USING, NATURAL), and set operations and DISTINCT,
 * which compare whole output rows, masked columns included.
 */
import { isNode, type AstNode } from "./ast.ts";
import type { Dialect } from "./dialect.ts";

/** `JOIN … USING (ssn)` matches rows on the masked column: its values leak through a table of guesses. */
export function joinedOnMasked(node: AstNode, masked: ReadonlySet<string>): string | null {
  if (!Array.isArray(node.using)) return null;
  const col = node.using.map((u: unknown) => (isNode(u) && typeof u.value === "string" ? u.value.toLowerCase() : String(u))).find((c) => masked.has(c));
  return col ? `column ${col} is masked: it may not be joined on (USING)` : null;
}

/**
 * Words the parser misreads, looked for among the lexer's tokens (quoted, they are names). It reads
 * `customers NATURAL JOIN g` as the alias NATURAL and a join with no condition, but a NATURAL join matches on
 * every column of the same name, a masked one included (T-SQL has none: there the word is a name). MariaDB's
 * parser reads DISTINCTROW, DISTINCT's synonym, as a column, and the name after it as that column's alias.
 */
export function misreadReason(tokens: readonly string[], dialect: Dialect): string | null {
  if (dialect !== "transactsql" && tokens.includes("NATURAL")) {
    return "NATURAL joins are not allowed while columns are masked: they may match rows on a masked column (join with ON or USING on other columns)";
  }
  if ((dialect === "mysql" || dialect === "mariadb") && tokens.includes("DISTINCTROW")) {
    return "DISTINCTROW is not allowed while columns are masked: the policy's parser misreads it (write DISTINCT)";
  }
  return null;
}

/**
 * INTERSECT, EXCEPT, UNION (distinct) and DISTINCT compare output rows by their real values: with a masked
 * column (or a star, which may hold one) in the select list, `SELECT id, ssn FROM customers INTERSECT SELECT 1,
 * '123-45-6789'` answered whether Ann's number is that one. UNION ALL compares nothing.
 */
export function comparedOnMasked(stmt: AstNode): string | null {
  const op = setOperations(stmt).find((o) => o !== "union all");
  if (op) return `${op.toUpperCase()} is not allowed over a select list with a masked column or a star: it compares the real values (UNION ALL may be used)`;
  const distinct = isNode(stmt.distinct) ? stmt.distinct.type : stmt.distinct;
  return distinct === "DISTINCT" ? "DISTINCT is not allowed over a select list with a masked column or a star: it compares the real values" : null;
}

const SET_OPERATOR = /^(union|intersect|except|minus)\b/;
const normal = (op: string) => op.toLowerCase().replace(/\s+/g, " ").trim();

/**
 * The set operators chaining the statement's selects, lower case with single spaces ("union all"). The
 * parser reads `… INTERSECT (SELECT …)`, a parenthesised arm, as a FROM item joined by "intersect".
 */
function setOperations(stmt: AstNode): string[] {
  const ops: string[] = [];
  for (let node: unknown = stmt; isNode(node); node = node._next) {
    if (typeof node.set_op === "string") ops.push(normal(node.set_op));
    for (const item of Array.isArray(node.from) ? node.from : []) {
      if (!isNode(item) || typeof item.join !== "string" || !SET_OPERATOR.test(normal(item.join))) continue;
      ops.push(normal(item.join));
      if (isNode(item.expr) && isNode(item.expr.ast)) ops.push(...setOperations(item.expr.ast));
    }
  }
  return ops;
}
