/**
 * The read-only check: a statement passes only if the dialect's parser reads it as exactly one SELECT (or
 * WITH … SELECT) with no data-modifying CTE, no SELECT INTO, no locking clause and no denied function, and
 * the lexer agrees it is one statement. Anything the parser cannot read is refused (fail closed); the lexer
 * then supplies a reason a person can act on.
 */
import { fromCalls, functionName, isTableRef, parseStatements, qualifiedColumnName, tsqlHintWords, walk, type AstNode } from "./ast.ts";
import { deniedFunction } from "./deny-list.ts";
import type { Dialect } from "./dialect.ts";
import { lex, statementCount, type Lexed } from "./lexer.ts";

/** On success, the statement's AST and the lexer's tokens (for what the parser misreads). */
export type Verdict = { ok: true; ast: AstNode; tokens: string[] } | { ok: false; reason: string };

const WRITE_TYPES = new Set([
  "insert", "update", "delete", "replace", "merge", "create", "drop", "alter", "truncate", "rename", "grant",
  "revoke", "call", "exec", "execute", "load_data", "lock", "unlock", "transaction", "attach",
]);
const LOCK_HINTS = /\b(UPDLOCK|XLOCK|HOLDLOCK|TABLOCKX?|PAGLOCK|ROWLOCK|SERIALIZABLE|REPEATABLEREAD)\b/i;
const READ_START = new Set(["SELECT", "WITH"]);

const refuse = (reason: string): Verdict => ({ ok: false, reason });

export function checkReadOnly(sql: string, dialect: Dialect, extraDeny: readonly string[] = []): Verdict {
  const lexed = lex(sql, dialect);
  const lexical = lexicalReason(lexed) ?? (dialect === "transactsql" ? tsqlStatementWord(lexed.tokens) : null);
  if (lexical) return refuse(lexical);
  let statements: AstNode[];
  try {
    statements = parseStatements(sql, dialect);
  } catch (err) {
    return refuse(unparsableReason(lexed, dialect, err));
  }
  if (statements.length !== 1) return refuse(`multiple statements are not allowed (found ${statements.length})`);
  const stmt = statements[0]!;
  if (stmt.type !== "select") return refuse(notSelect(String(stmt.type)));
  const inner = innerReason(stmt, dialect, extraDeny) ?? (dialect === "transactsql" ? tsqlHintReason(stmt) : null);
  return inner ? refuse(inner) : { ok: true, ast: stmt, tokens: lexed.tokens };
}

/** Reasons the lexer alone can give, before and independently of the parser. */
function lexicalReason(lexed: Lexed): string | null {
  if (lexed.tokens.length === 0) return "empty statement: send one SELECT";
  if (lexed.unterminated) return "unterminated string, identifier or comment";
  if (lexed.executableComment) return "MySQL executable comments (/*! … */) and optimizer hints (/*+ … */) are not allowed";
  if (lexed.ambiguous) return `${lexed.ambiguous} is not allowed: the policy and the database would read the statement differently`;
  const n = statementCount(lexed.tokens);
  if (n > 1) return `multiple statements are not allowed (found ${n}); send exactly one SELECT`;
  const first = lexed.tokens[0]!;
  if (!READ_START.has(first)) return notSelect(first);
  return null;
}

/**
 * T-SQL needs no `;` between statements, and the parser reads a word after a SELECT as an alias, so
 * `SELECT * FROM t SHUTDOWN` parsed as one SELECT and ran as two statements. These words start statements and
 * are reserved in T-SQL (never an unquoted name), and none belongs in a SELECT: anywhere outside quotes they
 * are refused.
 */
const TSQL_STATEMENT_WORDS = new Set([
  "BACKUP", "BEGIN", "BREAK", "BULK", "CHECKPOINT", "CLOSE", "COMMIT", "CONTINUE", "CREATE", "DBCC", "DEALLOCATE",
  "DECLARE", "DELETE", "DENY", "DROP", "EXEC", "EXECUTE", "GOTO", "GRANT", "IF", "INSERT", "KILL", "MERGE", "OPEN",
  "PRINT", "RAISERROR", "READTEXT", "RECONFIGURE", "RESTORE", "RETURN", "REVERT", "REVOKE", "ROLLBACK", "SAVE", "SET",
  "SETUSER", "SHUTDOWN", "TRAN", "TRANSACTION", "TRUNCATE", "UPDATE", "UPDATETEXT", "USE", "WAITFOR", "WHILE", "WRITETEXT",
]);

function tsqlStatementWord(tokens: string[]): string | null {
  const word = tokens.find((t) => TSQL_STATEMENT_WORDS.has(t));
  return word ? `${word} is not allowed: in T-SQL it starts another statement (quote a column of that name as [${word.toLowerCase()}])` : null;
}

function innerReason(stmt: AstNode, dialect: Dialect, extraDeny: readonly string[]): string | null {
  let reason: string | null = null;
  walk(stmt, (node) => {
    reason ??= nodeReason(node, dialect, extraDeny);
  });
  return reason;
}

function nodeReason(node: AstNode, dialect: Dialect, extraDeny: readonly string[]): string | null {
  if (typeof node.type === "string" && WRITE_TYPES.has(node.type)) {
    return `a data-modifying ${node.type.toUpperCase()} inside the query (for example in a WITH clause) is not allowed`;
  }
  // A MySQL user variable is not undone by the ROLLBACK that ends every query: set in one query, it stayed on
  // the pooled connection for whichever query (another key's, a named one) ran there next.
  if (node.type === "assign") return "assigning a user variable (:=) is not allowed: it outlives the query on the database connection";
  const into = node.into;
  if (into && typeof into === "object" && ("expr" in into ? into.expr : null)) return "SELECT … INTO is not allowed";
  if (typeof node.locking_read === "string" || (node.for_update !== undefined && node.for_update !== null)) {
    return `locking clause ${String(node.locking_read ?? "FOR UPDATE")} is not allowed`;
  }
  if (node.table_hint && LOCK_HINTS.test(JSON.stringify(node.table_hint))) return "locking table hints are not allowed";
  const fn = functionName(node);
  if (dialect === "postgresql" && isFromOnly(node, fn)) return "FROM ONLY is not allowed: the policy's parser misreads it and would not check the table (write the table without ONLY)";
  if (fn) return deniedFunction(dialect, fn, extraDeny);
  return dialect === "postgresql" ? attributeNotationReason(node, extraDeny) : null;
}

/**
 * PostgreSQL's `FROM ONLY t` (t without its inheritance children): the parser reads `ONLY t` as a table named
 * only with the alias t, and `ONLY (hr.t)` as a call of only(), so hr.t went unchecked past the allow-list.
 * ONLY is reserved in PostgreSQL: unquoted, it is never a table's or a function's name.
 */
const isFromOnly = (node: AstNode, fn: string | null) => fn === "only" || (isTableRef(node) && node.table.toLowerCase() === "only");

/**
 * PostgreSQL reads `x.f` as the call `f(x)` when `x` has no column `f` (attribute notation, its equivalent of
 * functional notation), so `SELECT x.pg_terminate_backend FROM unnest(ARRAY[pid]) x` ended a backend while the
 * deny list looked at calls only. A qualified column named after a denied function is taken as that call.
 */
function attributeNotationReason(node: AstNode, extraDeny: readonly string[]): string | null {
  const col = qualifiedColumnName(node);
  const denied = col && col !== "*" ? deniedFunction("postgresql", col, extraDeny) : null;
  const x = typeof node.table === "string" ? node.table : "x";
  return denied ? `${x}.${col} is ${col}(${x}) in PostgreSQL: ${denied} (write a column of that name unqualified)` : null;
}

/** A locking hint in T-SQL's old form, `FROM t (TABLOCKX)`, which the parser reads as a call. */
function tsqlHintReason(stmt: AstNode): string | null {
  const locking = fromCalls(stmt).some((call) => tsqlHintWords(call)?.some((w) => LOCK_HINTS.test(w)));
  return locking ? "locking table hints are not allowed" : null;
}

function notSelect(keyword: string): string {
  return `only a single SELECT is allowed, not ${keyword.toUpperCase()}`;
}

const LOCKING = [
  ["FOR", "UPDATE"], ["FOR", "SHARE"], ["FOR", "NO"], ["FOR", "KEY"], ["LOCK", "IN"],
] as const;
const LOCK_WORDS = new Set(["UPDATE", "SHARE", "NO", "KEY", "MODE"]);
const MODIFYING = new Set(["INSERT", "UPDATE", "DELETE", "MERGE"]);

/** The parser refused the statement; say why in words when the tokens make it clear. */
function unparsableReason(lexed: Lexed, dialect: Dialect, err: unknown): string {
  const t = lexed.tokens;
  const at = (i: number) => t[i] ?? "";
  const lock = t.findIndex((w, i) => LOCKING.some(([a, b]) => w === a && at(i + 1) === b));
  if (lock >= 0) {
    const words = t.slice(lock, lock + 4).filter((w, i) => i < 2 || LOCK_WORDS.has(w));
    return `locking clause ${words.join(" ")} is not allowed`;
  }
  if (t[0] === "WITH" && t.some((w) => MODIFYING.has(w))) {
    return "a data-modifying statement inside WITH is not allowed";
  }
  if (t.includes("INTO")) return "SELECT … INTO is not allowed";
  const detail = err instanceof Error ? err.message.split("\n")[0]!.slice(0, 160) : String(err);
  return `could not be parsed as one read-only SELECT in the ${dialect} dialect (${detail})`;
}
