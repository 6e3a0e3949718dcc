/**
 * MySQL and MariaDB through `mysql2`, streaming: rows arrive through a Readable whose back-pressure pauses
 * the socket, so memory stays flat. Multiple statements are off (the mysql2 default), every query runs in
 * START TRANSACTION READ ONLY, and the timeout is max_execution_time (MySQL) or max_statement_time (MariaDB).
 * Cancel is KILL QUERY from a second connection.
 */
import mysql from "mysql2";
import type { FieldPacket, PoolConnection, Pool } from "mysql2";
import type { Column, DbKind, SqlScalar } from "../../../lib/protocol/runner.ts";
import { RunnerError } from "../errors.ts";
import { classify, isUnreachable, unavailable } from "./errors.ts";
import type { Driver, QueryOptions, QueryStream } from "./types.ts";
import { rowEncoder } from "./mysql-values.ts";
import { groupTables } from "./values.ts";

const SCHEMA_SQL = `
  SELECT table_schema AS s, table_name AS t, column_name AS c, column_type AS ty, is_nullable = 'YES' AS n
  FROM information_schema.columns WHERE table_schema = DATABASE()
  ORDER BY table_schema, table_name, ordinal_position`;
/** Stored functions an unqualified call reaches: the connection's database's. */
const FUNCTIONS_SQL = "SELECT routine_name AS name FROM information_schema.routines WHERE routine_schema = DATABASE() AND routine_type = 'FUNCTION'";

const TYPE_NAMES = new Map(Object.entries(mysql.Types).map(([name, id]) => [id, name.toLowerCase()]));

/**
 * sql_mode flags under which MySQL reads quotes and backslashes otherwise than the policy's lexer, and the
 * combination modes that set ANSI_QUOTES again when the list is set back (MariaDB and MySQL 5.7 keep them).
 */
const POLICY_BREAKING_MODES = new Set(["NO_BACKSLASH_ESCAPES", "ANSI_QUOTES", "ANSI", "ORACLE", "MSSQL", "DB2", "POSTGRESQL", "MAXDB"]);

const CONNECT_TIMEOUT_MS = 10_000;

type State = { cancelled: boolean; timedOut: boolean; closed: boolean; ended: boolean };

export class MysqlDriver implements Driver {
  readonly kind: DbKind;
  readonly defaultSchema: string;
  private readonly pool: Pool;
  private readonly url: string;
  /** Thread ids of the pool's connections that have a query on them, for close() to stop. */
  private readonly active = new Set<number>();
  private closing = false;
  private mariadb: boolean | null = null;
  private sqlMode: string | null = null;

  /** `poolSize` comes from poolSizeFor: KILL QUERY needs a connection of its own while the query's is busy. */
  constructor(url: string, kind: "mysql" | "mariadb", poolSize: number) {
    this.kind = kind;
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      // Node's ERR_INVALID_URL carries the whole URL (password included) in `input`: say what is wrong, never the URL.
      throw new RunnerError("config", `database.url is not a valid URL for ${kind}: percent-encode characters such as # / ? in the user name and password`);
    }
    this.defaultSchema = decodeURIComponent(parsed.pathname.replace(/^\//, "")) || "mysql";
    this.url = url;
    this.pool = mysql.createPool({
      uri: url,
      connectionLimit: poolSize,
      connectTimeout: CONNECT_TIMEOUT_MS,
      multipleStatements: false,
      supportBigNumbers: true,
      bigNumberStrings: true,
      dateStrings: true,
      // JSON as the server's text, as PostgreSQL's json: parsed, 0.10000000000000000001 became 0.1, big
      // integers became strings, and the JSON value null looked like SQL NULL.
      jsonStrings: true,
    });
  }

  async open(sql: string, params: SqlScalar[], opts: QueryOptions): Promise<QueryStream> {
    // `??` is mysql2's identifier placeholder: a parameter would become a table name the policy never saw.
    if (params.length && sql.includes("??")) throw new RunnerError("bad_params", "?? placeholders are not allowed");
    const conn = await this.connection();
    this.active.add(conn.threadId);
    const state: State = { cancelled: false, timedOut: false, closed: false, ended: false };
    const onAbort = () => {
      if (state.closed || state.ended) return;
      state.cancelled = true;
      void this.kill(conn.threadId);
    };
    try {
      opts.signal.throwIfAborted();
      await conn.promise().query(await this.sessionSql(conn, opts.timeoutMs));
      await conn.promise().query("START TRANSACTION READ ONLY");
      // close() may have come during the setup: its KILL QUERY found no statement to stop, this one would run.
      if (this.closing) throw new RunnerError("cancelled", "the runner is stopping");
      const query = conn.query({ sql, values: params, rowsAsArray: true });
      opts.signal.addEventListener("abort", onAbort, { once: true });
      // A cancel that came during the setup above found no listener, and the query would run to its timeout.
      if (opts.signal.aborted) onAbort();
      const columns = new Promise<FieldPacket[]>((resolve, reject) => {
        query.once("fields", (fields: FieldPacket[]) => resolve(fields));
        query.once("error", reject);
        query.once("end", () => resolve([]));
      });
      const stream = query.stream({ highWaterMark: opts.batchRows });
      stream.on("error", () => {}); // errors reach us through `columns` or the iterator, never as a crash
      const rows = stream[Symbol.asyncIterator]() as AsyncIterator<unknown[]>;
      const fields = await columns;
      return this.stream(conn, rows, fields, opts, state, () => opts.signal.removeEventListener("abort", onAbort));
    } catch (err) {
      opts.signal.removeEventListener("abort", onAbort);
      state.closed = true;
      this.drop(conn);
      throw classify(err, { ...state, cancelled: opts.signal.aborted });
    }
  }

  private stream(
    conn: PoolConnection,
    rows: AsyncIterator<unknown[]>,
    fields: FieldPacket[],
    opts: QueryOptions,
    state: State,
    detach: () => void,
  ): QueryStream {
    const encode = rowEncoder(fields);
    return {
      columns: fields.map(columnOf),
      next: async (maxRows = opts.batchRows) => {
        const batch: unknown[][] = [];
        try {
          while (batch.length < maxRows && !state.ended) {
            const r = await rows.next();
            if (r.done) state.ended = true;
            else batch.push(encode(r.value));
          }
        } catch (err) {
          state.ended = true;
          throw classify(err, state);
        }
        return batch.length ? batch : null;
      },
      close: async () => {
        if (state.closed) return;
        state.closed = true;
        detach();
        // A cancel's KILL QUERY may still be on its way when the query ended anyway: a connection back in the
        // pool would have it land on whichever query ran there next. Dropped, its thread id is never reused.
        if (!state.ended || state.cancelled) {
          // Stopped early (truncated, cancelled, failed): stop the server's work and drop the connection.
          if (!state.ended) await this.kill(conn.threadId);
          this.drop(conn);
          return;
        }
        await conn.promise().query("ROLLBACK").then(() => this.release(conn), () => this.drop(conn));
      },
    };
  }

  private connection(): Promise<PoolConnection> {
    return new Promise((resolve, reject) => {
      this.pool.getConnection((err, conn) => {
        if (err) reject(isUnreachable(err) ? unavailable(err) : classify(err, { cancelled: false, timedOut: false }));
        else resolve(conn);
      });
    });
  }

  /**
   * The session's timeout, and its sql_mode as the policy reads SQL: with NO_BACKSLASH_ESCAPES (a server
   * default some sites set) `'a\' …` ends the string where the policy's lexer does not, so text it saw as one
   * string ran as SQL, and mysql2's escaping of parameter values broke too; with ANSI_QUOTES (or ANSI) "…" is a
   * name, not a string. Both are taken out of the server's mode for the runner's sessions.
   * The time_zone is UTC: MySQL prints TIMESTAMP values in the session's zone with no offset, so from a server
   * in another zone they came out as local times nobody could place; in UTC they are instants (a `Z`, as
   * PostgreSQL's timestamptz). NOW() and DATE() of a TIMESTAMP read in UTC too, as on a UTC server.
   */
  private async sessionSql(conn: PoolConnection, timeoutMs: number): Promise<string> {
    if (this.mariadb === null || this.sqlMode === null) {
      const [rows] = await conn.promise().query("SELECT VERSION() AS v, @@SESSION.sql_mode AS m");
      const row = (rows as { v: string; m: string }[])[0];
      this.mariadb = /mariadb/i.test(String(row?.v));
      this.sqlMode = String(row?.m ?? "").split(",").filter((m) => m && !POLICY_BREAKING_MODES.has(m.toUpperCase())).join(",");
    }
    const ms = Math.ceil(timeoutMs);
    const timeout = this.mariadb ? `max_statement_time = ${ms / 1000}` : `max_execution_time = ${ms}`;
    return `SET SESSION ${timeout}, sql_mode = ${mysql.escape(this.sqlMode)}, time_zone = '+00:00'`;
  }

  private async kill(threadId: number) {
    await this.pool.promise().query(`KILL QUERY ${Number(threadId)}`).catch(() => {});
  }

  /** Back to the pool, the query on it over. */
  private release(conn: PoolConnection) {
    this.active.delete(conn.threadId);
    conn.release();
  }

  /** Closed for good (its thread id is never reused), the query on it over. */
  private drop(conn: PoolConnection) {
    this.active.delete(conn.threadId);
    conn.destroy();
  }

  async schema() {
    const [rows] = await this.pool.promise().query(SCHEMA_SQL);
    return groupTables(
      (rows as { s: string; t: string; c: string; ty: string; n: number }[]).map((r) => ({
        schema: r.s, table: r.t, column: r.c, type: r.ty, nullable: Boolean(r.n),
      })),
    );
  }

  async functions() {
    const [rows] = await this.pool.promise().query(FUNCTIONS_SQL);
    return (rows as { name: string }[]).map((r) => r.name);
  }

  async ping() {
    await this.pool.promise().query("SELECT 1").catch((err: unknown) => {
      throw unavailable(err);
    });
  }

  /**
   * Stops the statements still running, then ends the pool. end() waits for a running statement, and a
   * cancel's KILL QUERY needs a pool connection of its own: one asked for after end() fails ("Pool is
   * closed."), so a runner stopped with a query on the database hung until the statement's timeout.
   */
  async close() {
    this.closing = true;
    await this.killActive();
    await this.pool.promise().end();
  }

  /** KILL QUERY for every connection with a query on it, from a connection apart from the pool. */
  private async killActive() {
    if (!this.active.size) return;
    const conn = mysql.createConnection({ uri: this.url, connectTimeout: CONNECT_TIMEOUT_MS });
    conn.on("error", () => {}); // a server gone away: nothing is left running to stop
    try {
      for (const id of this.active) await conn.promise().query(`KILL QUERY ${Number(id)}`).catch(() => {});
    } finally {
      conn.destroy();
    }
  }
}

/** MariaDB sends JSON as LONGTEXT, marked json only in the extended metadata: the type says the text is JSON. */
function columnOf(f: FieldPacket): Column {
  if (f.extendedFormat === "json") return { name: f.name, type: "json" };
  return { name: f.name, type: TYPE_NAMES.get(f.type ?? -1) ?? f.columnType?.toString() ?? "unknown" };
}
