/**
 * One interface for every database. A query is a pull-based stream: the caller asks for the next batch only
 * when it can send it on, so a slow hub slows the database read instead of filling the runner's memory.
 * Every query runs inside a read-only transaction with a statement timeout, set by the driver.
 */
import type { Column, DbKind, SchemaTable, SqlScalar } from "../../../lib/protocol/runner.ts";

export interface QueryOptions {
  timeoutMs: number;
  /** Rows fetched from the database per round trip, unless `next` asks for another number. */
  batchRows: number;
  /** Aborting cancels the statement on the database server itself (pg_cancel_backend, KILL QUERY, …). */
  signal: AbortSignal;
}

export interface QueryStream {
  readonly columns: Column[];
  /**
   * The next batch of rows (arrays in column order), at most `maxRows` (default batchRows), or null when the
   * result is exhausted. The caller sizes batches by the bytes rows turn out to take, so wide rows (documents,
   * blobs) are not fetched hundreds at a time into memory.
   */
  next(maxRows?: number): Promise<unknown[][] | null>;
  /** Ends the transaction (always rolled back) and releases the connection. Safe to call more than once. */
  close(): Promise<void>;
}

export interface Driver {
  readonly kind: DbKind;
  /** Schema that unqualified table names resolve to, for the allow-lists. */
  readonly defaultSchema: string;
  open(sql: string, params: SqlScalar[], opts: QueryOptions): Promise<QueryStream>;
  /** Tables and columns the database user can see (the policy filters them further). */
  schema(): Promise<SchemaTable[]>;
  /**
   * The user-defined functions an unqualified call reaches in `defaultSchema`, for the allow-lists (a
   * function reads what its schema holds). Absent where there are none to read: SQLite has no stored
   * functions; SQL Server's are not read yet (its scalar ones must be called with their schema anyway).
   */
  functions?(): Promise<string[]>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface DatabaseConfig {
  kind: DbKind;
  /** Connection URL for postgres / mysql / mariadb / mssql. */
  url?: string;
  /** File path for sqlite. */
  path?: string;
}
