/**
 * The local policy as one object: it turns a `query` frame into the exact SQL, parameters and limits the
 * driver will run, or throws a RunnerError saying why not. The cloud can only ask; this decides.
 */
import type { DbKind, QueryFrame, SchemaTable, SqlScalar } from "../../../lib/protocol/runner.ts";
import { RunnerError } from "../errors.ts";
import type { NamedQuery, PolicyConfig } from "./config.ts";
import { dialectOf, type Dialect } from "./dialect.ts";
import { maskedNames, maskIndexes, maskingReason } from "./masking.ts";
import { lex, mysqlLike } from "./lexer.ts";
import { checkReadOnly } from "./read-only.ts";
import { referencedTables, statisticsReason, TableAllowList, tableReason, type DefaultSchemaFunctions } from "./tables.ts";

export interface ResolvedQuery {
  sql: string;
  params: SqlScalar[];
  named: string | null;
  maxRows: number;
  maxBytes: number;
  timeoutMs: number;
}

export class Policy {
  readonly config: PolicyConfig;
  readonly dialect: Dialect;
  private readonly tables: TableAllowList;
  private readonly masked: ReadonlySet<string>;
  private readonly named: Map<string, NamedQuery>;
  private functions: DefaultSchemaFunctions;

  constructor(config: PolicyConfig, kind: DbKind, defaultSchema: string) {
    this.config = config;
    this.dialect = dialectOf(kind);
    this.tables = new TableAllowList(config.allow, defaultSchema, this.dialect);
    this.masked = maskedNames(config.maskColumns);
    this.named = new Map(config.namedQueries.map((q) => [q.name, q]));
    this.functions = { schema: defaultSchema, names: new Set() };
  }

  /** The default schema's functions, as last read from the database (hello.ts readSchema): see tables.ts. */
  learnFunctions(names: readonly string[]) {
    this.functions = { schema: this.functions.schema, names: new Set(names.map((n) => n.toLowerCase())) };
  }

  /** Refusal reason for `sql`, or null when it may run. Named queries go through the same check. */
  reason(sql: string): string | null {
    const verdict = checkReadOnly(sql, this.dialect, this.config.denyFunctions);
    if (!verdict.ok) return verdict.reason;
    const refs = referencedTables(sql, this.dialect, verdict.ast, this.functions);
    return tableReason(this.tables, refs) ?? statisticsReason(refs, this.dialect, this.masked.size > 0) ?? maskingReason(verdict.ast, this.masked, this.dialect, verdict.tokens);
  }

  resolve(frame: QueryFrame): ResolvedQuery {
    const { sql, params, named } = frame.named !== undefined ? this.namedQuery(frame) : this.adHoc(frame);
    const why = this.reason(sql);
    if (why) throw new RunnerError("policy_denied", why);
    const misplaced = params.length && mysqlLike(this.dialect) ? placeholderReason(sql, this.dialect) : null;
    if (misplaced) throw new RunnerError("bad_params", misplaced);
    return {
      sql,
      params,
      named,
      maxRows: Math.min(frame.maxRows, this.config.maxRows),
      maxBytes: Math.min(frame.maxBytes, this.config.maxBytes),
      timeoutMs: Math.min(frame.timeoutMs, this.config.timeoutMs),
    };
  }

  maskIndexes(columns: readonly { name: string }[]): number[] {
    return maskIndexes(columns, this.masked);
  }

  /** The part of the database's schema this runner may show: allow-listed tables, masked columns marked. */
  visibleSchema(tables: SchemaTable[]): SchemaTable[] {
    return tables
      .filter((t) => this.tables.allows({ schema: t.schema, table: t.name }))
      .map((t) => ({
        ...t,
        columns: t.columns.map((c) => (this.masked.has(c.name.toLowerCase()) ? { ...c, masked: true } : c)),
      }));
  }

  namedQueryInfo() {
    return this.config.namedQueries.map((q) => ({ name: q.name, description: q.description, params: q.params }));
  }

  /** Problems with the policy itself (named queries it would refuse); empty when valid. */
  problems(): string[] {
    return this.config.namedQueries.flatMap((q) => {
      let why = this.reason(q.sql);
      if (!why && q.params.length && mysqlLike(this.dialect)) why = placeholderReason(q.sql, this.dialect);
      return why ? [`named query ${q.name}: ${why}`] : [];
    });
  }

  private adHoc(frame: QueryFrame) {
    if (this.config.namedOnly) {
      throw new RunnerError("policy_denied", "this runner accepts named queries only; ad-hoc SQL is refused");
    }
    if (frame.params !== undefined && !Array.isArray(frame.params)) {
      throw new RunnerError("bad_params", "ad-hoc SQL takes positional params (an array)");
    }
    return { sql: frame.sql ?? "", params: frame.params ?? [], named: null };
  }

  private namedQuery(frame: QueryFrame) {
    const name = frame.named ?? "";
    const q = this.named.get(name);
    if (!q) throw new RunnerError("unknown_query", `no named query "${name}" in this runner's policy`);
    const given = frame.params ?? {};
    if (Array.isArray(given)) throw new RunnerError("bad_params", "named queries take params as an object");
    const missing = q.params.filter((p) => !(p in given));
    if (missing.length) throw new RunnerError("bad_params", `missing params for ${name}: ${missing.join(", ")}`);
    return { sql: q.sql, params: q.params.map((p) => given[p] ?? null), named: name };
  }
}

/**
 * mysql2 puts parameter values into the text itself, at every `?` it finds, inside strings and comments too;
 * the policy checked the text without them. A value put where the policy saw a string or a comment could
 * close it and run as SQL (reading server files, writing them, taking locks), so every `?` must be one the
 * policy saw as a placeholder.
 */
function placeholderReason(sql: string, dialect: Dialect): string | null {
  const all = sql.split("?").length - 1;
  return all === lex(sql, dialect).placeholders ? null : "with parameters, ? may appear only as a placeholder, not inside a string or comment";
}

