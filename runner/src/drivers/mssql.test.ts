/**
 * There is no SQL Server on these machines, so the `mssql` package itself is scripted here (the edge of
 * the system): a request that streams rows, pauses and resumes, and cancels the way mssql does, and a
 * transaction that refuses to roll back while a request is still in progress (mssql's EREQINPROG).
 */
import { createRequire } from "node:module";
import { beforeEach, describe, expect, it, vi } from "vitest";

const world = vi.hoisted(() => ({ pools: [] as { config: Record<string, unknown> }[], transactions: [] as { rolledBack: boolean }[], onBegin: null as (() => void) | null }));

vi.mock("mssql", async () => {
  const { EventEmitter: Emitter } = await import("node:events");
  class Transaction {
    rolledBack = false;
    active: Request | null = null;
    constructor() {
      world.transactions.push(this);
    }
    async begin() {
      world.onBegin?.();
    }
    async rollback() {
      if (this.active) throw Object.assign(new Error("Can't rollback transaction. There is a request in progress."), { code: "EREQINPROG" });
      this.rolledBack = true;
    }
  }
  class Request extends Emitter {
    stream = false;
    arrayRowMode = false;
    private paused = false;
    private canceled = false;
    private sent = 0;
    private finish: (err?: Error) => void = () => {};
    private readonly tx: Transaction;
    constructor(tx: Transaction) {
      super();
      this.tx = tx;
    }
    input() {}
    pause() {
      this.paused = true;
    }
    resume() {
      this.paused = false;
      setImmediate(() => this.pump());
    }
    cancel() {
      this.canceled = true;
      setImmediate(() => this.pump());
      return true;
    }
    query(): Promise<void> {
      this.tx.active = this;
      setImmediate(() => {
        this.emit("recordset", [{ name: "n", type: { declaration: "int" } }]);
        this.pump();
      });
      return new Promise((resolve, reject) => (this.finish = (err) => (this.tx.active = null, err ? reject(err) : resolve())));
    }
    // Like tedious, a paused request reads nothing more, not even a cancel's acknowledgement.
    private pump() {
      if (this.paused) return;
      if (this.canceled) {
        this.emit("error", Object.assign(new Error("Canceled."), { code: "ECANCEL" }));
        this.emit("done");
        return this.finish(new Error("Canceled."));
      }
      if (this.sent >= 10_000) return (this.emit("done"), this.finish());
      this.emit("row", [this.sent++]);
      setImmediate(() => this.pump());
    }
  }
  class ConnectionPool {
    readonly config: Record<string, unknown>;
    constructor(config: Record<string, unknown>) {
      this.config = config;
      world.pools.push(this);
    }
    static parseConnectionString = (url: string) => {
      const u = new URL(url);
      return { server: u.hostname, pool: { min: 0 }, options: { useUTC: u.searchParams.get("useUTC") !== "false" } };
    };
    async connect() {
      return this;
    }
  }
  return { default: { ConnectionPool, Transaction, Request } };
});

const { createDriver } = await import("./index.ts");

describe("SQL Server driver (scripted mssql)", () => {
  beforeEach(() => {
    world.pools.length = 0;
    world.transactions.length = 0;
    world.onBegin = null;
  });

  it("sizes its pool from maxConcurrent and leaves timeouts to the runner's watchdog", async () => {
    await createDriver({ kind: "mssql", url: "mssql://reader:pw@db.internal/sales" }, 12);
    // mssql's default pool is 10 whatever maxConcurrent says; tedious stops every request after 15 s.
    expect(world.pools[0]?.config).toMatchObject({ server: "db.internal", pool: { min: 0, max: 13 }, requestTimeout: 0 });
  });

  it("reads dates as UTC fields and decimals exactly, whatever the URL says", async () => {
    await createDriver({ kind: "mssql", url: "mssql://reader:pw@db.internal/sales?useUTC=false" }, 1);
    expect(world.pools[0]?.config).toMatchObject({ options: { useUTC: true } });
    // The real tedious (mssql itself is scripted here): its readValue is wrapped (mssql-decimals.test.ts).
    const tedious = createRequire(createRequire(import.meta.url).resolve("mssql"));
    expect((tedious("tedious/lib/value-parser.js") as { readValue: { exact?: true } }).readValue.exact).toBe(true);
  });

  it("a query stopped early is cancelled and its transaction rolled back, returning the connection", async () => {
    const driver = await createDriver({ kind: "mssql", url: "mssql://reader:pw@db.internal/sales" }, 4);
    const stream = await driver.open("SELECT n FROM big", [], { timeoutMs: 10_000, batchRows: 10, signal: new AbortController().signal });
    expect(await stream.next()).toHaveLength(10);
    await new Promise((r) => setTimeout(r, 20)); // rows pile up until the queue pauses the request
    await stream.close(); // truncated at maxRows, say
    expect(world.transactions[0]?.rolledBack).toBe(true);
  });

  it("a cancel from the hub ends the query as cancelled and rolls it back", async () => {
    const driver = await createDriver({ kind: "mssql", url: "mssql://reader:pw@db.internal/sales" }, 4);
    const abort = new AbortController();
    const stream = await driver.open("SELECT n FROM big", [], { timeoutMs: 10_000, batchRows: 10, signal: abort.signal });
    expect(await stream.next()).toHaveLength(10);
    await new Promise((r) => setTimeout(r, 20));
    abort.abort();
    await expect(readAll(stream)).rejects.toMatchObject({ code: "cancelled" });
    await stream.close();
    expect(world.transactions[0]?.rolledBack).toBe(true);
  });

  it("a cancel that comes while the transaction is being opened still cancels the query", async () => {
    const driver = await createDriver({ kind: "mssql", url: "mssql://reader:pw@db.internal/sales" }, 4);
    const abort = new AbortController();
    world.onBegin = () => abort.abort();
    const opened = driver.open("SELECT n FROM big", [], { timeoutMs: 10_000, batchRows: 10, signal: abort.signal }).then(readAll);
    await expect(opened).rejects.toMatchObject({ code: "cancelled" });
  });
});

async function readAll(stream: { next(): Promise<unknown[][] | null> }) {
  while (await stream.next());
}
