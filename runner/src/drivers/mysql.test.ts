import { existsSync } from "node:fs";
import mysql from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SqlScalar } from "../../../lib/protocol/runner.ts";
import { RunnerClient } from "../client/connection.ts";
import { RunnerError } from "../errors.ts";
import { silentLogger } from "../log.ts";
import { noAudit, Policy, PolicyConfigSchema } from "../policy/index.ts";
import { CANARY_ROWS, prepareMysql, unavailable } from "../test-support/databases.ts";
import { harness, notRefused, recordFetches } from "../test-support/harness.ts";
import { ScriptedHub } from "../test-support/hub.ts";
import { behindCte, hostileFor } from "../test-support/hostile.ts";
import { createDriver } from "./index.ts";
import { MysqlDriver } from "./mysql.ts";
import type { QueryOptions } from "./types.ts";

const db = await prepareMysql();
const skip = unavailable("MySQL/MariaDB", "reason" in db ? db.reason : null);
const url = "url" in db ? db.url : "";
const HEAVY = "SELECT count(*) AS n FROM nums a, nums b, nums c";

describe.skipIf(skip)("MySQL/MariaDB driver", () => {
  let admin: mysql.Connection;
  let driver: MysqlDriver;
  const canary = async () => (await admin.query("SELECT id, v FROM canary ORDER BY id"))[0] as { id: number; v: string }[];
  const evilObjects = async () =>
    (await admin.query("SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name LIKE 'evil%'"))[0];
  const running = async (sql: string) =>
    ((await admin.query("SELECT id FROM information_schema.processlist WHERE info = ?", [sql]))[0] as unknown[]).length;

  beforeAll(async () => {
    admin = await mysql.createConnection({ uri: url, multipleStatements: true });
    await admin.query(`
      DROP TABLE IF EXISTS canary, nums, wide;
      CREATE TABLE canary (id int PRIMARY KEY, v varchar(10));
      INSERT INTO canary VALUES ${CANARY_ROWS.map(([id, v]) => `(${id}, '${v}')`).join(", ")};
      CREATE TABLE digits (d int); INSERT INTO digits VALUES (0),(1),(2),(3),(4),(5),(6),(7),(8),(9);
      CREATE TABLE nums (n int PRIMARY KEY) AS
        SELECT a.d + 10 * b.d + 100 * c.d + 1000 * e.d + 1 AS n FROM digits a, digits b, digits c, digits e;
      DROP TABLE digits;
      CREATE TABLE wide AS SELECT n AS id, n * 1000000000000 AS big, CONCAT('row ', n) AS label,
        TIMESTAMP('2026-01-01') + INTERVAL n MINUTE AS at, NULL AS nothing FROM nums;`);
    driver = new MysqlDriver(url, "mariadb", 5);
  });
  afterAll(async () => {
    await driver?.close();
    await admin?.end();
  });

  it("streams rows in batches with JSON-safe values", async () => {
    const { driver: counted, fetches } = recordFetches(driver);
    const { run } = harness(counted, { maxRows: 100_000 }, { chunkRows: 1000 });
    const o = await run({ sql: "SELECT * FROM wide ORDER BY id" });
    expect(o.error).toBeUndefined();
    expect(o.columns).toEqual(["id", "big", "label", "at", "nothing"]);
    expect(o.rows).toHaveLength(10000);
    expect(fetches).toEqual([16, 32, 64, 128, 256, 512, ...Array(8).fill(1000), 992]); // from 16 rows, doubling to chunkRows
    expect(o.rows[0]).toEqual([1, "1000000000000", "row 1", "2026-01-01T00:01:00.000000", null]);
    expect(o.done).toMatchObject({ rowCount: 10000, truncated: false });
    expect((await driver.schema()).find((t) => t.name === "canary")?.columns.map((c) => c.name)).toEqual(["id", "v"]);
  });

  it("returns JSON as the server's text, as PostgreSQL does: every digit, and JSON null apart from SQL NULL", async () => {
    await admin.query(`
      DROP TABLE IF EXISTS docs; CREATE TABLE docs (id int, j JSON);
      INSERT INTO docs VALUES (1, '{"big": 12345678901234567890, "dec": 0.10000000000000000001}'), (2, 'null'), (3, NULL);`);
    const o = await harness(driver).run({ sql: "SELECT j, JSON_OBJECT('n', 0.10000000000000000001) AS o FROM docs ORDER BY id" });
    expect(o.error).toBeUndefined();
    expect(o.rows).toEqual([
      ['{"big": 12345678901234567890, "dec": 0.10000000000000000001}', '{"n": 0.10000000000000000001}'],
      ["null", '{"n": 0.10000000000000000001}'],
      [null, '{"n": 0.10000000000000000001}'],
    ]);
    expect(o.frames[0]).toMatchObject({ columns: [{ name: "j", type: "json" }, { name: "o", type: "json" }] });
  });

  it("writes DATETIME as wall-clock time and TIMESTAMP as a UTC instant, to the microsecond, whatever the server's zone", async () => {
    await admin.query(`
      DROP TABLE IF EXISTS times; CREATE TABLE times (dt DATETIME(6), ts TIMESTAMP(6) NULL, t TIME(6), d DATE, z DATETIME);
      SET SESSION time_zone = '+00:00', sql_mode = '';
      INSERT INTO times VALUES ('2024-01-01 12:34:56.123456', '2024-01-01 12:34:56.654321', '-12:00:00.5', '2024-02-29', '0000-00-00');`);
    const d = new MysqlDriver(url, "mariadb", 1);
    try {
      // A server in another zone (set on the pool's one connection, before the driver sets up its session).
      await (d as unknown as { pool: import("mysql2").Pool }).pool.promise().query("SET SESSION time_zone = '+05:00'");
      const o = await harness(d).run({ sql: "SELECT dt, ts, t, d, z, @@session.time_zone AS tz FROM times" });
      expect(o.error).toBeUndefined();
      // The same text as PostgreSQL's timestamp and timestamptz (timestamps.ts); a zero date stays MySQL's.
      expect(o.rows).toEqual([
        ["2024-01-01T12:34:56.123456", "2024-01-01T12:34:56.654321Z", "-12:00:00.500000", "2024-02-29", "0000-00-00 00:00:00", "+00:00"],
      ]);
    } finally {
      await d.close();
    }
  });

  it("stops early at maxRows and leaves the connection pool usable", async () => {
    const { run } = harness(driver, {}, { chunkRows: 100 });
    expect((await run({ sql: "SELECT id FROM wide", maxRows: 150 })).done).toMatchObject({ rowCount: 150, truncated: true });
    // BIGINT arrives as a decimal string, like PostgreSQL int8: JSON numbers lose precision past 2^53.
    expect((await run({ sql: "SELECT count(*) FROM wide" })).rows).toEqual([["10000"]]);
  });

  it(`refuses all ${hostileFor("mysql").length} hostile statements through the real path, executing none`, async () => {
    const { run } = harness(driver);
    for (const sql of hostileFor("mysql")) {
      const o = await run({ sql });
      expect(o.error, sql).toMatchObject({ code: "policy_denied" });
      expect(o.columns, sql).toEqual([]);
    }
    expect((await canary()).map((r) => [r.id, r.v])).toEqual(CANARY_ROWS.map((r) => [...r]));
    expect(await evilObjects()).toEqual([]);
    expect(existsSync("/tmp/cio-evil.txt") || existsSync("/tmp/cio-evil2.txt")).toBe(false);
  });

  it("the read-only transaction and single-statement protocol stop writes even without the parser", async () => {
    const writes = ["INSERT INTO canary VALUES (50, 'x')", "UPDATE canary SET v = 'pwned'", "DELETE FROM canary", "SELECT 1; DELETE FROM canary"];
    for (const sql of writes) {
      const err = await driver.open(sql, [], { timeoutMs: 5000, batchRows: 10, signal: new AbortController().signal }).then(
        async (s) => (await s.close(), null),
        (e: unknown) => e,
      );
      expect(err, sql).toBeInstanceOf(RunnerError);
      expect((err as RunnerError).message, sql).toMatch(/READ ONLY transaction|SQL syntax/);
    }
    expect((await canary()).map((r) => [r.id, r.v])).toEqual(CANARY_ROWS.map((r) => [...r]));
  });

  it("a masked column neither comes out under another name nor answers guesses", async () => {
    await admin.query(`DROP TABLE IF EXISTS customers; CREATE TABLE customers (id int, name varchar(20), ssn varchar(20));
      INSERT INTO customers VALUES (1, 'Ann', '123-45-6789'), (2, 'Bob', '987-65-4321');`);
    try {
      const { run } = harness(driver, { maskColumns: ["customers.ssn"] });
      expect((await run({ sql: "SELECT id, ssn FROM customers ORDER BY id" })).rows).toEqual([[1, "****"], [2, "****"]]);
      const leaks = [
        "SELECT ssn collate utf8mb4_bin FROM customers", // named by its text, "ssn collate utf8mb4_bin"
        "SELECT id, ssn FROM customers INTERSECT SELECT 1, '123-45-6789'", // a row or none, as the guess is right or wrong
        "SELECT DISTINCTROW ssn FROM customers",
      ];
      expect(await notRefused(run, leaks)).toEqual([]);
    } finally {
      await admin.query("DROP TABLE IF EXISTS customers");
    }
  });

  it("a table outside the allow-list stays out of reach behind a CTE of its name or its database's function", async () => {
    await admin.query(`DROP TABLE IF EXISTS secrets; CREATE TABLE secrets (v varchar(20)); INSERT INTO secrets VALUES ('top secret');
      DROP DATABASE IF EXISTS cio_runner_hr; CREATE DATABASE cio_runner_hr;
      CREATE FUNCTION cio_runner_hr.secret() RETURNS varchar(20) READS SQL DATA RETURN (SELECT v FROM cio_runner_test.secrets LIMIT 1);`);
    try {
      const { run } = harness(driver, { allow: { tables: ["canary"] } });
      const leaks = [...behindCte("secrets"), "SELECT cio_runner_hr.secret()"];
      expect(await notRefused(run, leaks)).toEqual([]);
    } finally {
      await admin.query("DROP TABLE IF EXISTS secrets; DROP DATABASE IF EXISTS cio_runner_hr");
    }
  });

  it("the statement timeout stops a long query", async () => {
    const { run } = harness(driver);
    const started = Date.now();
    const o = await run({ sql: HEAVY, timeoutMs: 500 });
    expect(o.error).toMatchObject({ code: "timeout" });
    expect(Date.now() - started).toBeLessThan(3000);
    await waitFor(async () => (await running(HEAVY)) === 0);
  });

  it("cancel runs KILL QUERY on the server", async () => {
    const { exec, run } = harness(driver);
    const pending = run({ id: "m1", sql: HEAVY, timeoutMs: 60_000 });
    await waitFor(async () => (await running(HEAVY)) === 1);
    exec.cancel({ type: "cancel", id: "m1" });
    expect((await pending).error).toMatchObject({ code: "cancelled" });
    await waitFor(async () => (await running(HEAVY)) === 0);
  });

  it("a cancel that comes while the session is being set up still stops the query", async () => {
    const d = new MysqlDriver(url, "mariadb", 2);
    const cancel = new AbortController();
    // The cancel lands during the setup statements, before the query itself is sent.
    const setup = (d as unknown as { sessionSql: (...a: unknown[]) => Promise<string> }).sessionSql.bind(d);
    (d as unknown as { sessionSql: (...a: unknown[]) => Promise<string> }).sessionSql = async (...a) => {
      const sql = await setup(...a);
      cancel.abort();
      return sql;
    };
    try {
      const opened = d.open(HEAVY, [], { timeoutMs: 60_000, batchRows: 100, signal: cancel.signal }).then((s) => s.next());
      await expect(opened).rejects.toMatchObject({ code: "cancelled" });
      await waitFor(async () => (await running(HEAVY)) === 0);
    } finally {
      await d.close();
    }
  }, 20_000);

  it("a cancelled query that ended anyway leaves no connection for its late KILL QUERY to hit the next query on", async () => {
    const d = new MysqlDriver(url, "mariadb", 1); // one connection: the next query would get the same one
    const killed: number[] = [];
    // The KILL held back, as one through a busy pool lands after the query it was for has ended.
    (d as unknown as { kill: (id: number) => Promise<void> }).kill = async (id) => void killed.push(id);
    const opts = (signal: AbortSignal) => ({ timeoutMs: 10_000, batchRows: 10, signal });
    try {
      const cancel = new AbortController();
      const first = await d.open("SELECT 1", [], opts(cancel.signal));
      cancel.abort();
      while (await first.next()) continue;
      await first.close();
      const next = await d.open("SELECT CONNECTION_ID()", [], opts(new AbortController().signal));
      const id = Number((await next.next())![0]![0]);
      await next.close();
      expect(killed).toHaveLength(1);
      expect(id).not.toBe(killed[0]);
    } finally {
      await d.close();
    }
  });

  it("runs its sessions without NO_BACKSLASH_ESCAPES or ANSI_QUOTES, so the server reads quotes as the policy does", async () => {
    const d = new MysqlDriver(url, "mariadb", 1);
    try {
      // A server whose default mode has them (set here on the pool's one connection, before the driver reads it).
      const pool = (d as unknown as { pool: import("mysql2").Pool }).pool.promise();
      // ORACLE: a combination mode that sets ANSI_QUOTES again if it is kept in the list.
      await pool.query("SET SESSION sql_mode = CONCAT(@@SESSION.sql_mode, ',NO_BACKSLASH_ESCAPES,ANSI_QUOTES,ORACLE')");
      const { run } = harness(d);
      // To the policy one string; under NO_BACKSLASH_ESCAPES the string ends at \' and the rest runs as SQL.
      const o = await run({ sql: "SELECT 'a\\' AS x, DATABASE() AS y #' AS z" });
      expect(o.error).toBeUndefined();
      expect(o.columns).toHaveLength(1);
      const [rows] = await pool.query("SELECT @@SESSION.sql_mode AS m");
      expect((rows as { m: string }[])[0]!.m).not.toMatch(/NO_BACKSLASH_ESCAPES|ANSI_QUOTES|ORACLE/);
    } finally {
      await d.close();
    }
  });

  it("runs maxConcurrent queries side by side and can still KILL one of them", async () => {
    // A pool of 10 under maxConcurrent 12 left two queries waiting, and KILL QUERY (which needs a
    // connection of its own) queued behind the very queries it was meant to stop.
    const wide = await createDriver({ kind: "mariadb", url }, 12);
    const sql = "SELECT SLEEP(30) AS side_by_side";
    const aborts = Array.from({ length: 12 }, () => new AbortController());
    const opened = aborts.map((a) =>
      wide.open(sql, [], { timeoutMs: 60_000, batchRows: 10, signal: a.signal }).then(async (s) => (await s.close(), null), (e: unknown) => e),
    );
    await waitFor(async () => (await running(sql)) === 12);
    const started = Date.now();
    aborts[0]!.abort();
    await opened[0];
    await waitFor(async () => (await running(sql)) === 11);
    expect(Date.now() - started).toBeLessThan(2000);
    for (const a of aborts) a.abort();
    await Promise.all(opened);
    await waitFor(async () => (await running(sql)) === 0);
    await wide.close();
  });

  it("close() stops a statement still running instead of waiting for it, and the query ends", async () => {
    const d = new MysqlDriver(url, "mariadb", 2);
    const sql = "SELECT SLEEP(30) AS closing";
    // Never cancelled: only close() can stop it (end() alone waited the 30 s out).
    const query = d.open(sql, [], { timeoutMs: 60_000, batchRows: 10, signal: new AbortController().signal }).then((s) => s.next());
    const outcome = query.then(() => "ended", () => "ended");
    await waitFor(async () => (await running(sql)) === 1);
    const started = Date.now();
    await d.close();
    expect(Date.now() - started).toBeLessThan(3000);
    expect(await running(sql)).toBe(0);
    expect(await outcome).toBe("ended");
  }, 40_000);

  it("a runner stopped with a query on the database ends it: stop, then close the driver, as start does", async () => {
    const d = new MysqlDriver(url, "mariadb", 5);
    const sql = "SELECT SLEEP(30) AS stopping";
    // The policy refuses SLEEP: the query the hub sends is swapped for it behind the policy.
    const sleeping = Object.assign(Object.create(d) as MysqlDriver, { open: (_s: string, _p: SqlScalar[], o: QueryOptions) => d.open(sql, [], o) });
    const hub = await ScriptedHub.start();
    const client = new RunnerClient({
      cloudUrl: hub.url, token: "test-token", runnerName: "warehouse", driver: sleeping, policy: new Policy(PolicyConfigSchema.parse({}), "mariadb", d.defaultSchema),
      audit: noAudit, log: silentLogger(), chunkRows: 100, frameBytes: 1024, credits: 8, maxConcurrent: 4, heartbeatMs: 60_000,
      schemaTimeoutMs: 10_000, stopGraceMs: 5000, backoff: { initialMs: 50, maxMs: 200 },
    });
    try {
      client.start();
      await hub.waitFor((f) => f.type === "hello");
      hub.send({ type: "query", id: "q", requestId: "req-q", sql: "SELECT 1", maxRows: 10, maxBytes: 1000, timeoutMs: 60_000 });
      await waitFor(async () => (await running(sql)) === 1);
      const started = Date.now();
      await client.stop();
      await d.close();
      expect(Date.now() - started).toBeLessThan(3000);
      expect(await running(sql)).toBe(0);
    } finally {
      await hub.close();
    }
  }, 40_000);

  it("a database that is down gives a clear error without credentials", async () => {
    const down = new MysqlDriver("mysql://someone:hunter2@127.0.0.1:1/nowhere", "mysql", 5);
    const o = await harness(down).run({ sql: "SELECT 1" });
    expect(o.error).toMatchObject({ code: "db_unavailable", message: expect.stringMatching(/database unavailable/) });
    expect(o.error?.message).not.toContain("hunter2");
    await down.close();
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 5000) {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error("condition not reached in time");
    await new Promise((r) => setTimeout(r, 50));
  }
}
