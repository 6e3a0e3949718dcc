/**
 * SQL Server through `mssql` (tedious) in streaming mode, with pause/resume as back-pressure. SQL Server has
 * no read-only transaction: the runner's parser is the main guard, every query runs in a transaction that is
 * always rolled back, and the README asks for a login with only db_datareader. Placeholders are @p1, @p2 …
 * DECIMAL, NUMERIC and MONEY come back as exact decimal strings (mssql-decimals.ts), date-times as
 * timestamps.ts says (mssql-values.ts). Not tested against a server in this repository.
 */
import mssql from "mssql";
import type { Request, Transaction } from "mssql";
import type { Column, SqlScalar } from "../../../lib/protocol/runner.ts";
import { classify, unavailable } from "./errors.ts";
import type { Driver, QueryOptions, QueryStream } from "./types.ts";
import { installExactDecimals } from "./mssql-decimals.ts";
import { rowEncoder, type MssqlColumn } from "./mssql-values.ts";
import { RowQueue } from "./row-queue.ts";
import { encodeRow, groupTables } from "./values.ts";

let warned = false;
const warnOnce = (msg: string) => warned || ((warned = true), process.emitWarning(msg, { code: "CIO_RUNNER_INEXACT_DECIMALS" }));

const SCHEMA_SQL = `
  SELECT TABLE_SCHEMA AS s, TABLE_NAME AS t, COLUMN_NAME AS c, DATA_TYPE AS ty, IS_NULLABLE AS n
  FROM INFORMATION_SCHEMA.COLUMNS ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION`;

export class MssqlDriver implements Driver {
  readonly kind = "mssql" as const;
  readonly defaultSchema = "dbo";
  private readonly pool: mssql.ConnectionPool;
  private connecting: Promise<mssql.ConnectionPool> | null = null;

  /** `poolSize` comes from poolSizeFor (mssql's own default is 10 whatever maxConcurrent says). */
  constructor(url: string, poolSize: number) {
    // Said once, not silently: a tedious laid out otherwise than the wrap knows gives rounded decimals.
    if (!installExactDecimals()) warnOnce("this tedious cannot be read exactly: SQL Server DECIMAL, NUMERIC and MONEY come back as rounded numbers");
    const config = mssql.ConnectionPool.parseConnectionString(url);
    this.pool = new mssql.ConnectionPool({
      ...config,
      pool: { ...config.pool, max: poolSize },
      // tedious stops every request after 15 s by default, whatever the policy's timeoutMs says; the
      // executor's watchdog cancels at the policy's timeout instead (and reports it as a timeout).
      requestTimeout: 0,
      // Dates as their UTC fields, which rowEncoder reads (a URL's useUTC=false made them the host's local time).
      options: { ...config.options, useUTC: true },
    });
  }

  private connect() {
    this.connecting ??= this.pool.connect().catch((err: unknown) => {
      this.connecting = null;
      throw unavailable(err);
    });
    return this.connecting;
  }

  async open(sql: string, params: SqlScalar[], opts: QueryOptions): Promise<QueryStream> {
    const tx = new mssql.Transaction(await this.connect());
    await tx.begin();
    const state = { cancelled: false, timedOut: false, closed: false };
    const request = new mssql.Request(tx);
    request.stream = true;
    request.arrayRowMode = true;
    params.forEach((p, i) => request.input(`p${i + 1}`, p));
    const queue = new RowQueue(opts.batchRows * 2, () => request.pause(), () => request.resume());
    let encode = encodeRow;
    const columns = new Promise<Column[]>((resolve, reject) => {
      request.once("recordset", (cols: MssqlColumn[]) => {
        encode = rowEncoder(cols);
        resolve(cols.map(columnOf));
      });
      request.once("error", reject);
      request.once("done", () => resolve([]));
    });
    request.on("row", (row: unknown[]) => queue.push(encode(row)));
    request.on("error", (err: unknown) => queue.fail(err));
    request.on("done", () => queue.end());
    const onAbort = () => {
      state.cancelled = true;
      queue.discard();
      request.cancel();
    };
    opts.signal.addEventListener("abort", onAbort, { once: true });
    // Settles when tedious is done with the request; failures themselves arrive as the "error" event.
    const finished = request.query(sql).then(() => {}, () => {});
    // A cancel that came while the transaction was opening found no listener: SQL Server has no statement
    // timeout here (the watchdog's has fired already), so the query would have run on.
    if (opts.signal.aborted) onAbort();
    const cols = await columns.catch(async (err: unknown) => {
      opts.signal.removeEventListener("abort", onAbort);
      await finished;
      await rollback(tx);
      throw classify(err, state);
    });
    return {
      columns: cols,
      next: (maxRows = opts.batchRows) => queue.take(maxRows).catch((err: unknown) => Promise.reject(classify(err, state))),
      close: async () => {
        if (state.closed) return;
        state.closed = true;
        opts.signal.removeEventListener("abort", onAbort);
        // A rollback while the request still runs fails with EREQINPROG, and the transaction would keep its
        // pooled connection for good: cancel, wait for tedious to finish the request, then roll back.
        if (!queue.ended) {
          queue.discard();
          request.cancel();
        }
        await finished;
        await rollback(tx);
      },
    };
  }

  async schema() {
    const result = await (await this.connect()).request().query(SCHEMA_SQL);
    const rows = result.recordset as { s: string; t: string; c: string; ty: string; n: string }[];
    return groupTables(rows.map((r) => ({ schema: r.s, table: r.t, column: r.c, type: r.ty, nullable: r.n === "YES" })));
  }

  async ping() {
    await (await this.connect()).request().query("SELECT 1");
  }

  async close() {
    await this.pool.close();
  }
}

const columnOf = (c: MssqlColumn): Column => ({
  name: c.name,
  type: c.type?.declaration ?? c.type?.name ?? "unknown",
});

async function rollback(tx: Transaction) {
  await tx.rollback().catch(() => {});
}
