/**
 * PostgreSQL through `pg` with a server-side cursor (pg-cursor): the result is fetched `batchRows` at a time,
 * so memory stays flat however large it is. The cursor uses the extended protocol, which cannot carry more
 * than one statement, and runs inside BEGIN; SET TRANSACTION READ ONLY with SET LOCAL statement_timeout.
 */
import pg from "pg";
import Cursor from "pg-cursor";
import type { Column, SqlScalar } from "../../../lib/protocol/runner.ts";
import { classify, connectionLost, isUnreachable, unavailable } from "./errors.ts";
import type { Driver, QueryOptions, QueryStream } from "./types.ts";
import { groupTables } from "./values.ts";
import { pgTypeName } from "./pg-types.ts";
import { rowTypes } from "./pg-values.ts";

const SCHEMA_SQL = `
  SELECT c.table_schema, c.table_name, c.column_name, c.data_type, c.is_nullable = 'YES' AS nullable
  FROM information_schema.columns c
  WHERE c.table_schema NOT IN ('pg_catalog', 'information_schema') AND c.table_schema NOT LIKE 'pg_toast%'
  ORDER BY c.table_schema, c.table_name, c.ordinal_position`;

/**
 * Functions of the schema an unqualified call searches after pg_catalog (the driver sets search_path to it),
 * aggregates and extensions' included: pg_stat_statements() in public reads every session's query text.
 */
const FUNCTIONS_SQL = `
  SELECT DISTINCT p.proname AS name FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
  WHERE n.nspname = $1`;

export class PostgresDriver implements Driver {
  readonly kind = "postgres" as const;
  readonly defaultSchema = "public";
  private readonly pool: pg.Pool;

  /** `poolSize` comes from poolSizeFor: a cancel needs a connection of its own while the query's is busy. */
  constructor(url: string, poolSize: number) {
    this.pool = new pg.Pool({ connectionString: url, max: poolSize, connectionTimeoutMillis: 10_000 });
    this.pool.on("error", () => {}); // idle-client errors surface on the next checkout instead
  }

  async open(sql: string, params: SqlScalar[], opts: QueryOptions): Promise<QueryStream> {
    const client = await this.pool.connect().catch((err: unknown) => {
      throw isUnreachable(err) ? unavailable(err) : classify(err, { cancelled: false, timedOut: false });
    });
    const conn = watchConnection(client);
    const state = { cancelled: false, timedOut: false, closed: false };
    let pid = 0;
    const onAbort = () => {
      // Once closed, the connection may already serve another query: cancelling then would hit that one.
      if (state.closed || pid === 0) return;
      state.cancelled = true;
      void this.pool.query("SELECT pg_cancel_backend($1)", [pid]).catch(() => {});
    };
    try {
      const setup = await client.query(
        // search_path is the policy's: it reads an unqualified name as public's, which the login's own path
        // ("$user", public; or one set on the role) could have resolved to another schema, past the allow-list.
        `BEGIN; SET TRANSACTION READ ONLY; SET LOCAL statement_timeout = ${Math.ceil(opts.timeoutMs)}; SET LOCAL search_path = ${this.defaultSchema}; ` +
          "SELECT pg_backend_pid() AS pid",
      );
      pid = Number((setup as unknown as pg.QueryResult<{ pid: number }>[]).at(-1)?.rows[0]?.pid ?? 0);
      opts.signal.throwIfAborted();
      opts.signal.addEventListener("abort", onAbort, { once: true });
      const cursor = client.query(new Cursor<unknown[]>(sql, params, { rowMode: "array", types: rowTypes() }));
      const first = await read(cursor, opts.batchRows);
      return this.stream(client, cursor, first, opts, state, conn, () => opts.signal.removeEventListener("abort", onAbort));
    } catch (err) {
      opts.signal.removeEventListener("abort", onAbort);
      state.closed = true;
      conn.detach();
      client.release(true);
      throw failure(err, { ...state, cancelled: opts.signal.aborted }, conn);
    }
  }

  private stream(
    client: pg.PoolClient,
    cursor: Cursor<unknown[]>,
    first: { rows: unknown[][]; columns: Column[] },
    opts: QueryOptions,
    state: { cancelled: boolean; timedOut: boolean; closed: boolean },
    conn: ConnectionWatch,
    detach: () => void,
  ): QueryStream {
    let pending: unknown[][] | null = first.rows;
    let exhausted = first.rows.length < opts.batchRows;
    const fetch = async (n: number) => {
      const rows = await this.nextBatch(cursor, n, state, conn);
      if (!rows || rows.length < n) exhausted = true;
      return rows;
    };
    return {
      columns: first.columns,
      next: async (maxRows = opts.batchRows) => {
        if (pending) {
          const rows = pending;
          pending = null;
          return rows.length ? rows : exhausted ? null : fetch(maxRows);
        }
        return exhausted ? null : fetch(maxRows);
      },
      close: async () => {
        if (state.closed) return;
        state.closed = true;
        detach();
        const failed = await endTransaction(client, cursor, conn).then(
          () => null,
          (err: unknown) => (err instanceof Error ? err : new Error(String(err))),
        );
        conn.detach();
        // A lost or failed connection is destroyed, not pooled. So is a cancelled one: the cancel was sent for
        // this backend over another connection and may land late, when it serves the next query.
        client.release(conn.error ?? failed ?? (state.cancelled || undefined));
      },
    };
  }

  private async nextBatch(cursor: Cursor<unknown[]>, n: number, state: { cancelled: boolean; timedOut: boolean }, conn: ConnectionWatch) {
    // The cursor would write to a dead socket and wait for its answer: fail at once.
    if (conn.error) throw connectionLost(conn.error);
    try {
      const { rows } = await read(cursor, n);
      return rows.length ? rows : null;
    } catch (err) {
      throw failure(err, state, conn);
    }
  }

  async schema() {
    const { rows } = await this.pool.query<{ table_schema: string; table_name: string; column_name: string; data_type: string; nullable: boolean }>(SCHEMA_SQL);
    return groupTables(
      rows.map((r) => ({ schema: r.table_schema, table: r.table_name, column: r.column_name, type: r.data_type, nullable: r.nullable })),
    );
  }

  async functions() {
    const { rows } = await this.pool.query<{ name: string }>(FUNCTIONS_SQL, [this.defaultSchema]);
    return rows.map((r) => r.name);
  }

  async ping() {
    await this.pool.query("SELECT 1").catch((err: unknown) => {
      throw unavailable(err);
    });
  }

  async close() {
    await this.pool.end();
  }
}

interface ConnectionWatch {
  /** Why the connection was lost, once it was. */
  readonly error: Error | null;
  /** Settles when the connection is lost (never, if it is not). */
  readonly lost: Promise<void>;
  /** Before the client is released: the pool puts back a listener of its own. */
  detach(): void;
}

/**
 * pg-pool takes its error listener off a client while it is checked out, and pool.on("error") hears idle
 * clients only: a backend that died mid-query (restart, pg_terminate_backend, TCP reset) emitted 'error' with
 * no listener, and the whole runner exited. This records the loss instead, for the query to fail and close on.
 */
function watchConnection(client: pg.PoolClient): ConnectionWatch {
  let settle = () => {};
  const watch = {
    error: null as Error | null,
    lost: new Promise<void>((resolve) => (settle = resolve)),
    detach: () => client.removeListener("error", onError),
  };
  const onError = (err: Error) => {
    watch.error ??= err;
    settle();
  };
  client.on("error", onError);
  return watch;
}

/** A lost connection is the database being unavailable, whatever the statement was doing when it went. */
function failure(err: unknown, state: { cancelled: boolean; timedOut: boolean }, conn: ConnectionWatch) {
  return conn.error && !state.cancelled && !state.timedOut ? connectionLost(conn.error) : classify(err, state);
}

/**
 * Closes the cursor and rolls back, unless the connection is lost: the cursor's close waits for a
 * readyForQuery that a dead socket never sends, so the client was never released and pool.end() hung.
 * Then DISCARD ALL, since the ROLLBACK leaves what a query took for the session: a session advisory lock,
 * taken by a query the policy let through, stayed held on the pooled connection for every query after it.
 * It must run outside the transaction, as its own statement; the driver prepares no named statements, so
 * the DEALLOCATE ALL inside it leaves `pg` nothing stale.
 */
async function endTransaction(client: pg.PoolClient, cursor: Cursor<unknown[]>, conn: ConnectionWatch) {
  if (conn.error) return;
  await Promise.race([new Promise<void>((resolve) => cursor.close(() => resolve())), conn.lost]);
  if (conn.error) return;
  await client.query("ROLLBACK");
  await client.query("DISCARD ALL");
}

function read(cursor: Cursor<unknown[]>, n: number): Promise<{ rows: unknown[][]; columns: Column[] }> {
  return new Promise((resolve, reject) => {
    cursor.read(n, (err, rows, result) => {
      if (err) return reject(err);
      const fields = result?.fields ?? [];
      resolve({ rows, columns: fields.map((f) => ({ name: f.name, type: pgTypeName(f.dataTypeID) })) });
    });
  });
}
