/**
 * SQLite through Node's built-in `node:sqlite`. The file is opened read-only with PRAGMA query_only, and
 * reads run in a transaction that is always rolled back. Each query has its own connection: a connection
 * holds one transaction and queries overlap (maxConcurrent), so on a shared one a second BEGIN would fail and
 * its rollback would end the first query's transaction under it. node:sqlite is synchronous: rows are stepped in
 * batches with a yield to the event loop between them, and the timeout and cancel are checked there (a
 * single very slow step cannot be interrupted; keep SQLite for small, local data).
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import type { Column, SqlScalar } from "../../../lib/protocol/runner.ts";
import { RunnerError } from "../errors.ts";
import { classify, unavailable } from "./errors.ts";
import type { Driver, QueryOptions, QueryStream } from "./types.ts";
import { groupTables, toJsonValue } from "./values.ts";

const SCHEMA_SQL = `
  SELECT m.name AS t, p.name AS c, p.type AS ty, p."notnull" AS nn
  FROM sqlite_schema m JOIN pragma_table_info(m.name) p
  WHERE m.type IN ('table', 'view') AND m.name NOT LIKE 'sqlite_%'
  ORDER BY m.name, p.cid`;

export class SqliteDriver implements Driver {
  readonly kind = "sqlite" as const;
  readonly defaultSchema = "main";
  private readonly path: string;
  /** For schema() and ping(), which run no transaction. */
  private db: DatabaseSync | null = null;
  /** The open connection of every query still streaming, closed with the driver. */
  private readonly queries = new Set<DatabaseSync>();

  constructor(path: string) {
    this.path = path;
  }

  /** node:sqlite is imported on first use: importing it prints an "experimental" warning in Node 22. */
  private async connect(): Promise<DatabaseSync> {
    try {
      const { DatabaseSync } = await import("node:sqlite");
      const db = new DatabaseSync(this.path, { readOnly: true });
      db.exec("PRAGMA query_only = ON");
      return db;
    } catch (err) {
      throw unavailable(err);
    }
  }

  private async shared(): Promise<DatabaseSync> {
    this.db ??= await this.connect();
    return this.db;
  }

  /** Rolls back and closes a query's connection, once (the driver's close() may have got there first). */
  private release(db: DatabaseSync) {
    if (!this.queries.delete(db)) return;
    rollback(db);
    db.close();
  }

  async open(sql: string, params: SqlScalar[], opts: QueryOptions): Promise<QueryStream> {
    const db = await this.connect();
    this.queries.add(db);
    const state = { cancelled: false, timedOut: false, closed: false };
    const deadline = Date.now() + opts.timeoutMs;
    let stmt: StatementSync;
    try {
      db.exec("BEGIN");
      stmt = db.prepare(sql);
      stmt.setReturnArrays(true);
      // Read as numbers, an INTEGER past 2^53 throws ERR_OUT_OF_RANGE and fails the whole query.
      stmt.setReadBigInts(true);
    } catch (err) {
      this.release(db);
      throw classify(err, state);
    }
    const columns: Column[] = stmt.columns().map((c) => ({ name: c.name, type: c.type ?? "" }));
    const cursor = { rows: stmt.iterate(...params.map((p) => (typeof p === "boolean" ? Number(p) : p))) as Iterator<unknown[]>, ended: false };
    // The first batch is read here so a failing statement (a write on the read-only file) fails open().
    let pending: unknown[][] | null;
    try {
      pending = readBatch(cursor, opts.batchRows, deadline, state);
    } catch (err) {
      this.release(db);
      throw err;
    }
    return {
      columns,
      next: async (maxRows = opts.batchRows) => {
        if (pending) {
          const first = pending;
          pending = null;
          return first;
        }
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (opts.signal.aborted) throw new RunnerError("cancelled", "the query was cancelled");
        if (Date.now() > deadline) throw new RunnerError("timeout", "the statement timeout was reached");
        return readBatch(cursor, maxRows, deadline, state);
      },
      close: async () => {
        if (state.closed) return;
        state.closed = true;
        if (!cursor.ended) cursor.rows.return?.();
        this.release(db);
      },
    };
  }

  async schema() {
    const rows = (await this.shared()).prepare(SCHEMA_SQL).all() as { t: string; c: string; ty: string; nn: number }[];
    return groupTables(rows.map((r) => ({ schema: "main", table: r.t, column: r.c, type: r.ty, nullable: !r.nn })));
  }

  async ping() {
    (await this.shared()).prepare("SELECT 1").get();
  }

  async close() {
    for (const db of this.queries) this.release(db);
    this.db?.close();
    this.db = null;
  }
}

/** Steps up to `n` rows. After the last row it never steps again: SQLite would re-run the statement. */
function readBatch(
  cursor: { rows: Iterator<unknown[]>; ended: boolean },
  n: number,
  deadline: number,
  state: { cancelled: boolean; timedOut: boolean },
) {
  const batch: unknown[][] = [];
  try {
    while (batch.length < n && !cursor.ended) {
      const r = cursor.rows.next();
      if (r.done) {
        cursor.ended = true;
        break;
      }
      batch.push(r.value.map(sqliteJson));
      if ((batch.length & 255) === 0 && Date.now() > deadline) {
        state.timedOut = true;
        throw new RunnerError("timeout", "the statement timeout was reached");
      }
    }
  } catch (err) {
    throw classify(err, state);
  }
  return batch.length ? batch : null;
}

const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** INTEGERs arrive as BigInt: those a JSON number holds exactly stay numbers, larger ones become decimal strings. */
function sqliteJson(v: unknown): unknown {
  if (typeof v === "bigint" && v >= MIN_SAFE && v <= MAX_SAFE) return Number(v);
  return toJsonValue(v);
}

function rollback(db: DatabaseSync) {
  try {
    if (db.isTransaction) db.exec("ROLLBACK");
  } catch {
    // nothing to roll back: the transaction already ended with the error
  }
}
