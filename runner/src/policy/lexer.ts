/**
 * A small SQL lexer that knows each dialect's comments and string quoting. It gives clear reasons when the
 * parser cannot parse a statement, and it cross-checks the parser: if the lexer sees a second statement or a
 * MySQL executable comment where the parser saw none, the statement is refused, because the database might
 * read it the lexer's way.
 */
import type { Dialect } from "./dialect.ts";

export interface Lexed {
  /** Upper-cased keywords and identifiers outside strings and comments, with ";" kept as its own token. */
  tokens: string[];
  /**
   * A `/*! … *\/` or `/*M! … *\/` comment, which MySQL and MariaDB execute, or a `/*+ … *\/` optimizer hint:
   * hints change how the statement runs (SET_VAR sets session variables, MAX_EXECUTION_TIME overrides the
   * runner's timeout), and mysql2 fills `?` placeholders inside them, where the policy sees only a comment.
   */
  executableComment: boolean;
  /** `?` outside strings and comments: where a client-side driver (mysql2) may put parameter values. */
  placeholders: number;
  unterminated: boolean;
  /**
   * Where the policy's parser and the database would split the text differently, so the parser would check
   * another query than the one that runs: a backslash before a quote in a string the database does not
   * escape (node-sql-parser reads `\'` as an escaped quote in every dialect), MySQL's `--` with no space
   * after it (a comment to the parser, two minus signs to MySQL), or `#` in SQLite (a comment to the parser,
   * to SQLite a named parameter such as `#p`, after which the line goes on).
   */
  ambiguous: string | null;
}

export const mysqlLike = (d: Dialect) => d === "mysql" || d === "mariadb";

export function lex(sql: string, dialect: Dialect): Lexed {
  const out: Lexed = { tokens: [], executableComment: false, placeholders: 0, unterminated: false, ambiguous: null };
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    const next = sql[i + 1];
    if (c === "-" && next === "-" && mysqlLike(dialect) && !dashCommentEnds(sql[i + 2])) {
      out.ambiguous ??= "`--` with no space after it (two minus signs to MySQL, a comment to the policy's parser)";
      i++;
    } else if (c === "-" && next === "-") i = lineEnd(sql, i);
    else if (c === "#" && mysqlLike(dialect)) i = lineEnd(sql, i);
    else if (c === "#" && dialect === "sqlite") {
      out.ambiguous ??= "`#` (a comment to the policy's parser, a parameter to SQLite, which runs the rest of the line)";
      i++;
    }
    else if (c === "/" && next === "*") {
      if (mysqlLike(dialect) && /^\/\*(M?!|\+)/.test(sql.slice(i, i + 4))) out.executableComment = true;
      i = blockCommentEnd(sql, i, dialect === "postgresql" || dialect === "transactsql", out);
    } else if (c === "'") i = quotedEnd(sql, i, "'", backslashEscapes(sql, i, dialect), out);
    else if (c === '"') i = quotedEnd(sql, i, '"', mysqlLike(dialect), out);
    else if (c === "`" && mysqlLike(dialect)) i = quotedEnd(sql, i, "`", false, out);
    else if (c === "[" && dialect === "transactsql") i = quotedEnd(sql, i, "]", false, out);
    else if (c === "$" && dialect === "postgresql" && dollarTag(sql, i)) i = dollarEnd(sql, i, out);
    else if (c === ";") {
      out.tokens.push(";");
      i++;
    } else if (c === "?") {
      out.placeholders++;
      i++;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_$]*/.exec(sql.slice(i))!;
      out.tokens.push(m[0].toUpperCase());
      i += m[0].length;
    } else i++;
  }
  return out;
}

/** How many non-empty statements the lexer sees. */
export function statementCount(tokens: string[]): number {
  let count = 0;
  let inStatement = false;
  for (const t of tokens) {
    if (t === ";") inStatement = false;
    else if (!inStatement) {
      inStatement = true;
      count++;
    }
  }
  return count;
}

function lineEnd(sql: string, i: number): number {
  const nl = sql.indexOf("\n", i);
  return nl === -1 ? sql.length : nl + 1;
}

function blockCommentEnd(sql: string, start: number, nests: boolean, out: Lexed): number {
  let depth = 0;
  let i = start;
  while (i < sql.length) {
    if (sql.startsWith("/*", i) && (nests || depth === 0)) {
      depth++;
      i += 2;
    } else if (sql.startsWith("*/", i)) {
      depth--;
      i += 2;
      if (depth === 0) return i;
    } else i++;
  }
  out.unterminated = true;
  return sql.length;
}

/** MySQL strings always honour backslash escapes; PostgreSQL only in E'…' strings. */
function backslashEscapes(sql: string, i: number, dialect: Dialect): boolean {
  if (mysqlLike(dialect)) return true;
  return dialect === "postgresql" && i > 0 && /[eE]/.test(sql[i - 1]!) && !/[A-Za-z0-9_]/.test(sql[i - 2] ?? " ");
}

/**
 * MySQL starts a `--` comment only when an ASCII space or control character follows (or the text ends). Not
 * JavaScript's `\s`: a no-break or ideographic space after `--` is a comment to the parser, and to MySQL the
 * start of a name, so the rest of the line ran unchecked.
 */
const dashCommentEnds = (after: string | undefined) => after === undefined || /[\x00-\x20\x7f]/.test(after);

function quotedEnd(sql: string, start: number, quote: string, backslash: boolean, out: Lexed): number {
  const end = scanQuoted(sql, start, quote, backslash);
  if (end === -1) {
    out.unterminated = true;
    return sql.length;
  }
  // node-sql-parser honours backslash escapes in every dialect: where this database does not, the two must
  // still agree on where the quoted text ends, or the parser checks another query than the one that runs.
  if (!backslash && scanQuoted(sql, start, quote, true) !== end) {
    out.ambiguous ??= `a backslash right before ${quote} inside quotes (an escape to the policy's parser, not to this database)`;
  }
  return end;
}

/** The index just past the closing quote, or -1 when the text ends first. */
function scanQuoted(sql: string, start: number, quote: string, backslash: boolean): number {
  let i = start + 1;
  while (i < sql.length) {
    const c = sql[i]!;
    if (backslash && c === "\\") i += 2;
    else if (c === quote && sql[i + 1] === quote) i += 2;
    else if (c === quote) return i + 1;
    else i++;
  }
  return -1;
}

function dollarTag(sql: string, i: number): string | null {
  const m = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i));
  return m ? m[0] : null;
}

function dollarEnd(sql: string, start: number, out: Lexed): number {
  const tag = dollarTag(sql, start)!;
  const end = sql.indexOf(tag, start + tag.length);
  if (end === -1) {
    out.unterminated = true;
    return sql.length;
  }
  return end + tag.length;
}
