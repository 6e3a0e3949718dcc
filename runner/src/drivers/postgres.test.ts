import { existsSync } from "node:fs";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SqlScalar } from "../../../lib/protocol/runner.ts";
import { RunnerError } from "../errors.ts";
import { CANARY_ROWS, preparePostgres, unavailable } from "../test-support/databases.ts";
import { harness, notRefused, recordFetches } from "../test-support/harness.ts";
import { behindCte, hostileFor } from "../test-support/hostile.ts";
import { createDriver } from "./index.ts";
import { PostgresDriver } from "./postgres.ts";

const db = await preparePostgres();
const skip = unavailable("PostgreSQL", "reason" in db ? db.reason : null);
const url = "url" in db ? db.url : "";

describe.skipIf(skip)("PostgreSQL driver", () => {
  let admin: pg.Client;
  let driver: PostgresDriver;
  const canary = async () => (await admin.query("SELECT id, v FROM canary ORDER BY id", [])).rows.map((r: { id: number; v: string }) => [r.id, r.v]);
  const evilObjects = async () => (await admin.query("SELECT relname FROM pg_class WHERE relname LIKE 'evil%'")).rows;
  const running = async (like: string) =>
    (await admin.query("SELECT pid FROM pg_stat_activity WHERE state = 'active' AND query LIKE $1 AND pid <> pg_backend_pid()", [like])).rowCount;

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`
      DROP TABLE IF EXISTS canary, wide; DROP SEQUENCE IF EXISTS canary_seq;
      CREATE TABLE canary (id int PRIMARY KEY, v text); CREATE SEQUENCE canary_seq;
      INSERT INTO canary VALUES ${CANARY_ROWS.map(([id, v]) => `(${id}, '${v}')`).join(", ")};
      CREATE TABLE wide AS SELECT g AS id, g::bigint * 1000000000000 AS big, 'row ' || g AS label,
        timestamp '2026-01-01' + g * interval '1 minute' AS at, (g % 2 = 0) AS even, NULL::text AS nothing,
        decode('cafe', 'hex') AS bytes FROM generate_series(1, 20000) g;`);
    driver = new PostgresDriver(url, 5);
  });
  afterAll(async () => {
    await driver?.close();
    await admin?.end();
  });

  it("reads an unqualified name as public's, as the policy does, whatever search_path the login brings", async () => {
    await admin.query(`
      CREATE SCHEMA IF NOT EXISTS shadow; DROP TABLE IF EXISTS shadow.lookup, public.lookup;
      CREATE TABLE shadow.lookup (v text); INSERT INTO shadow.lookup VALUES ('shadow');
      CREATE TABLE public.lookup (v text); INSERT INTO public.lookup VALUES ('public');`);
    // A role or URL may set its own path: here shadow first, so `lookup` was shadow.lookup to the database.
    const d = new PostgresDriver(`${url}${url.includes("?") ? "&" : "?"}options=${encodeURIComponent("-c search_path=shadow,public")}`, 1);
    try {
      const { run } = harness(d);
      expect((await run({ sql: "SELECT v FROM lookup" })).rows).toEqual([["public"]]);
    } finally {
      await d.close();
    }
  });

  it("streams rows in batches with JSON-safe values", async () => {
    const { driver: counted, fetches } = recordFetches(driver);
    const { run } = harness(counted, { maxRows: 100_000 }, { chunkRows: 1000 });
    const o = await run({ sql: "SELECT * FROM wide ORDER BY id" });
    expect(o.error).toBeUndefined();
    expect(o.columns).toEqual(["id", "big", "label", "at", "even", "nothing", "bytes"]);
    expect(o.rows).toHaveLength(20000);
    expect(fetches).toEqual([16, 32, 64, 128, 256, 512, ...Array(18).fill(1000), 992]); // from 16 rows, doubling to chunkRows
    expect(o.rows[0]).toEqual([1, "1000000000000", "row 1", expect.stringMatching(/^2026-01-01T/), false, null, "\\xcafe"]);
    expect(o.done).toMatchObject({ rowCount: 20000, truncated: false });
  });

  it("gathers fetches into frames of about frameBytes, and still stops exactly at maxRows and maxBytes", async () => {
    const { run } = harness(driver, { maxRows: 100_000 }, { chunkRows: 100, frameBytes: 64 * 1024 });
    const all = await run({ sql: "SELECT * FROM wide ORDER BY id" });
    const frames = all.frames.filter((f) => f.type === "rows");
    expect(all.rows).toHaveLength(20000);
    expect(all.rows[19999]?.[0]).toBe(20000);
    // 200 fetches of ~8 KB: gathered to 64 KB, that is about 25 frames, not 200.
    expect(frames.length).toBeGreaterThan(10);
    expect(frames.length).toBeLessThan(50);
    expect((await run({ sql: "SELECT id FROM wide", maxRows: 250 })).done).toMatchObject({ rowCount: 250, truncated: true, truncatedBy: "maxRows" });
    const bytes = await run({ sql: "SELECT label FROM wide ORDER BY id", maxBytes: 100_000 });
    expect(bytes.done).toMatchObject({ truncated: true, truncatedBy: "maxBytes" });
    const ndjson = bytes.rows.map((r) => JSON.stringify(r) + "\n").join("");
    expect(ndjson.length).toBeLessThanOrEqual(100_000);
    // …and the next row would not have fitted.
    expect(ndjson.length + JSON.stringify([`row ${bytes.rows.length + 1}`]).length + 1).toBeGreaterThan(100_000);
  });

  it("writes dates and timestamps as their own wall-clock values, whatever the runner host's time zone", async () => {
    const hostZone = process.env.TZ;
    process.env.TZ = "Europe/Berlin"; // a runner host outside UTC, on summer time in July
    try {
      const o = await harness(driver).run({
        sql: `SELECT DATE '2024-03-15', TIMESTAMP '2024-03-15 12:00', TIMESTAMP '2024-07-01 23:30:00.123456',
          TIMESTAMP '0099-01-01 00:00', ARRAY[DATE '2024-03-15', NULL], ARRAY[TIMESTAMP '2024-07-01 12:00', NULL],
          '{12345678901234567.89,NULL}'::numeric[], CAST('2024-06-01 12:00:00.123456+02' AS timestamptz), CAST('12:00:00.5' AS time)`,
      });
      expect(o.error).toBeUndefined();
      // Every microsecond, six digits always; Z only on the instant (timestamptz), in UTC (timestamps.ts).
      expect(o.rows).toEqual([[
        "2024-03-15", "2024-03-15T12:00:00.000000", "2024-07-01T23:30:00.123456", "0099-01-01T00:00:00.000000",
        ["2024-03-15", null], ["2024-07-01T12:00:00.000000", null], ["12345678901234567.89", null],
        "2024-06-01T10:00:00.123456Z", "12:00:00.500000",
      ]]);
    } finally {
      if (hostZone === undefined) delete process.env.TZ;
      else process.env.TZ = hostZone;
    }
  });

  it("returns json and jsonb as PostgreSQL's text: every digit, every key, and JSON null apart from SQL NULL", async () => {
    await admin.query(`
      DROP TABLE IF EXISTS docs; CREATE TABLE docs (id int, j json, b jsonb, ja json[], ba jsonb[]);
      INSERT INTO docs VALUES
        (1, '{"big": 12345678901234567890, "dec": 0.10000000000000000001, "a": 1, "a": 2}',
          '{"big": 12345678901234567890}', ARRAY['{"n": 12345678901234567890}']::json[], ARRAY['null', NULL]::jsonb[]),
        (2, 'null', '"x"', NULL, NULL), (3, NULL, NULL, NULL, NULL);`);
    const o = await harness(driver).run({ sql: "SELECT j, b, ja, ba FROM docs ORDER BY id" });
    expect(o.error).toBeUndefined();
    expect(o.rows).toEqual([
      ['{"big": 12345678901234567890, "dec": 0.10000000000000000001, "a": 1, "a": 2}', '{"big": 12345678901234567890}',
        ['{"n": 12345678901234567890}'], ["null", null]],
      ["null", '"x"', null, null],
      [null, null, null, null],
    ]);
    expect(o.frames[0]).toMatchObject({
      columns: [{ name: "j", type: "json" }, { name: "b", type: "jsonb" }, { name: "ja", type: "json[]" }, { name: "ba", type: "jsonb[]" }],
    });
  });

  it("returns interval, point and circle as PostgreSQL's text, not pg's objects, and bytea[] as hex", async () => {
    await admin.query(`
      DROP TABLE IF EXISTS shapes; CREATE TABLE shapes (i interval, z interval, p point, c circle, ia interval[], pa point[], ba bytea[]);
      INSERT INTO shapes VALUES ('1 year 2 mons 3 days 04:05:06.789', '0', point(1.5, 2), '<(1,2),3>',
        ARRAY['1 day'::interval, NULL], ARRAY[point(1, 2)], ARRAY['\\xcafe'::bytea, NULL]);`);
    const o = await harness(driver).run({ sql: "SELECT i, z, p, c, ia, pa, ba FROM shapes" });
    expect(o.error).toBeUndefined();
    expect(o.rows).toEqual([[
      "1 year 2 mons 3 days 04:05:06.789", "00:00:00", "(1.5,2)", "<(1,2),3>", ["1 day", null], ["(1,2)"], ["\\xcafe", null],
    ]]);
    expect(o.frames[0]).toMatchObject({
      columns: ["interval", "interval", "point", "circle", "interval[]", "point[]", "bytea[]"].map((type) => ({ type })),
    });
  });

  it("reports column types and the visible schema", async () => {
    const { run } = harness(driver);
    const o = await run({ sql: "SELECT id, label FROM wide LIMIT 1" });
    expect(o.frames[0]).toMatchObject({ type: "columns", columns: [{ name: "id", type: "integer" }, { name: "label", type: "text" }] });
    const tables = await driver.schema();
    expect(tables.find((t) => t.name === "canary")?.columns.map((c) => c.name)).toEqual(["id", "v"]);
  });

  it("truncates at maxRows and maxBytes", async () => {
    const { run } = harness(driver, {}, { chunkRows: 100 });
    expect((await run({ sql: "SELECT id FROM wide", maxRows: 250 })).done).toMatchObject({ rowCount: 250, truncated: true, truncatedBy: "maxRows" });
    expect((await run({ sql: "SELECT id FROM wide WHERE id <= 100", maxRows: 100 })).done).toMatchObject({ rowCount: 100, truncated: false });
    const bytes = await run({ sql: "SELECT label FROM wide", maxBytes: 1000 });
    expect(bytes.done).toMatchObject({ truncated: true, truncatedBy: "maxBytes" });
    expect(JSON.stringify(bytes.rows).length).toBeLessThanOrEqual(1000 + bytes.rows.length + 2);
  });

  it(`refuses all ${hostileFor("postgres").length} hostile statements through the real path, executing none`, async () => {
    const { run } = harness(driver);
    for (const sql of hostileFor("postgres")) {
      const o = await run({ sql });
      expect(o.error, sql).toMatchObject({ code: "policy_denied" });
      expect(o.error?.message.length, sql).toBeGreaterThan(10);
      expect(o.columns, sql).toEqual([]);
    }
    expect(await canary()).toEqual(CANARY_ROWS.map((r) => [...r]));
    expect(await evilObjects()).toEqual([]);
    expect(existsSync("/tmp/cio-runner-pwned")).toBe(false);
    expect((await admin.query("SELECT last_value, is_called FROM canary_seq")).rows[0]).toMatchObject({ is_called: false });
  });

  it("the read-only transaction stops writes even without the parser", async () => {
    const writes = [
      "INSERT INTO canary VALUES (50, 'x')",
      "WITH d AS (DELETE FROM canary RETURNING *) SELECT * FROM d",
      "SELECT nextval('canary_seq')",
      "CREATE TABLE evil_direct (x int)",
      "SELECT 1; DELETE FROM canary",
    ];
    for (const sql of writes) {
      const err = await driver.open(sql, [], { timeoutMs: 5000, batchRows: 10, signal: new AbortController().signal }).then(
        async (s) => (await s.close(), null),
        (e: unknown) => e,
      );
      expect(err, sql).toBeInstanceOf(RunnerError);
      expect((err as RunnerError).message, sql).toMatch(/read-only transaction|multiple commands|cannot insert multiple/);
    }
    expect(await canary()).toEqual(CANARY_ROWS.map((r) => [...r]));
    expect(await evilObjects()).toEqual([]);
  });

  it("a denied function written as a column (x.f, which PostgreSQL runs as f(x)) is refused and does nothing", async () => {
    const victim = new pg.Client({ connectionString: url });
    victim.on("error", () => {});
    await victim.connect();
    const largeObjects = async () => (await admin.query<{ oid: number }>("SELECT oid FROM pg_largeobject_metadata")).rows.map((r) => r.oid);
    const before = await largeObjects();
    const dblink = (await admin.query("SELECT 1 FROM pg_available_extensions WHERE name = 'dblink'")).rowCount === 1;
    if (dblink) await admin.query("CREATE EXTENSION IF NOT EXISTS dblink");
    try {
      const vpid = (await victim.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!.pid;
      const { run } = harness(driver, { allow: { tables: ["canary"] } });
      const attempts = [
        `SELECT x.pg_terminate_backend FROM unnest(ARRAY[${vpid}]) x`,
        "SELECT x.pg_advisory_lock FROM unnest(ARRAY[4242::bigint]) x",
        "SELECT s.pg_create_physical_replication_slot FROM unnest(ARRAY['cio_test_slot']) s",
        "SELECT x.lo_import FROM unnest(ARRAY['/etc/hostname']) x",
        "SELECT f.pg_read_file FROM unnest(ARRAY['/etc/hostname']) f",
        // ts_stat runs its text as SQL: here a table outside the allow-list.
        "SELECT q.ts_stat FROM unnest(ARRAY['SELECT to_tsvector(label) FROM wide']) q",
        ...(dblink ? [`SELECT c.dblink_connect, e.dblink_exec FROM unnest(ARRAY['${url}']) c, unnest(ARRAY['DELETE FROM canary WHERE id = 3']) e`] : []),
      ];
      for (const sql of attempts) {
        const o = await run({ sql });
        expect(o.error, sql).toMatchObject({ code: "policy_denied", message: expect.stringMatching(/ in PostgreSQL: function \w+\(\) is not allowed/) });
        expect(o.rows, sql).toEqual([]);
      }
      expect((await victim.query("SELECT 1 AS alive")).rows).toEqual([{ alive: 1 }]);
      expect((await admin.query("SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242")).rowCount).toBe(0);
      expect((await admin.query("SELECT 1 FROM pg_replication_slots WHERE slot_name = 'cio_test_slot'")).rowCount).toBe(0);
      expect(await largeObjects()).toEqual(before);
      expect(await canary()).toEqual(CANARY_ROWS.map((r) => [...r]));
    } finally {
      // Undo what such a query did when the policy let it through, so a failing run leaves nothing behind.
      await victim.end().catch(() => {});
      await admin.query("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242");
      await admin.query("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = 'cio_test_slot'");
      await admin.query("SELECT lo_unlink(oid) FROM pg_largeobject_metadata WHERE NOT (oid = ANY($1::oid[]))", [before]);
      await admin.query("INSERT INTO canary VALUES (3, 'c') ON CONFLICT DO NOTHING");
      if (dblink) await admin.query("DROP EXTENSION IF EXISTS dblink");
    }
  });

  it("a masked column neither comes out under another name nor answers guesses", async () => {
    await admin.query(`DROP TABLE IF EXISTS customers; CREATE TABLE customers (id int, name text, ssn text);
      INSERT INTO customers VALUES (1, 'Ann', '123-45-6789'), (2, 'Bob', '987-65-4321');`);
    try {
      const { run } = harness(driver, { maskColumns: ["customers.ssn"] });
      expect((await run({ sql: "SELECT id, ssn FROM customers ORDER BY id" })).rows).toEqual([[1, "****"], [2, "****"]]);
      const leaks = [
        "SELECT s FROM customers AS c(i, n, s)", // the alias's column list renames ssn to s
        "SELECT * FROM customers c(i, n, s)",
        "SELECT c.record_out FROM customers c", // record_out(c): the row as text
        "SELECT c.record_send FROM customers c",
        // A row or none, as the guess is right or wrong.
        "SELECT id, ssn FROM customers INTERSECT SELECT 1, '123-45-6789'",
        "SELECT id, ssn FROM customers EXCEPT (SELECT 2, '000-00-0000')",
        "SELECT id, name FROM customers NATURAL JOIN (VALUES ('123-45-6789')) AS g(ssn)",
      ];
      expect(await notRefused(run, leaks)).toEqual([]);
    } finally {
      await admin.query("DROP TABLE IF EXISTS customers");
    }
  });

  it("a table outside the allow-list stays out of reach behind a CTE of its name, its schema's function or FROM ONLY", async () => {
    await admin.query(`DROP SCHEMA IF EXISTS cio_hr CASCADE; CREATE SCHEMA cio_hr;
      CREATE TABLE cio_hr.salaries (who text, salary int); INSERT INTO cio_hr.salaries VALUES ('ceo', 999999);
      CREATE FUNCTION cio_hr.all_salaries() RETURNS SETOF cio_hr.salaries LANGUAGE sql AS 'SELECT * FROM cio_hr.salaries';
      DROP TABLE IF EXISTS secrets; CREATE TABLE secrets (v text); INSERT INTO secrets VALUES ('top secret');`);
    try {
      const { run } = harness(driver, { allow: { tables: ["canary"] } });
      const leaks = [
        ...behindCte("secrets"),
        "(WITH secrets AS (SELECT 'cte' AS v) SELECT * FROM secrets) UNION ALL SELECT v FROM secrets",
        "SELECT cio_hr.all_salaries()",
        "SELECT * FROM canary, ONLY (cio_hr.salaries)",
      ];
      expect(await notRefused(run, leaks)).toEqual([]);
    } finally {
      await admin.query("DROP SCHEMA IF EXISTS cio_hr CASCADE; DROP TABLE IF EXISTS secrets");
    }
  });

  it("index and heap maintenance, which writes even in a read-only transaction, is refused and changes nothing", async () => {
    await admin.query(`DROP TABLE IF EXISTS brin_t; CREATE TABLE brin_t (x int) WITH (autovacuum_enabled = off);
      CREATE INDEX brin_t_idx ON brin_t USING brin (x) WITH (pages_per_range = 1); INSERT INTO brin_t SELECT g FROM generate_series(1, 20000) g;`);
    const surgery = (await admin.query("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_surgery'")).rowCount === 1;
    if (surgery) await admin.query("CREATE EXTENSION IF NOT EXISTS pg_surgery");
    try {
      const writes = [
        "SELECT brin_summarize_new_values('brin_t_idx')",
        "SELECT brin_summarize_range('brin_t_idx', 0)",
        ...(surgery ? [`SELECT heap_force_kill('brin_t', '{"(0,1)"}')`] : []), // deletes the row for good
      ];
      expect(await notRefused(harness(driver).run, writes)).toEqual([]);
      // No range was summarized by them: a summary now still finds them all new. And no row was killed.
      expect((await admin.query<{ n: number }>("SELECT brin_summarize_new_values('brin_t_idx') AS n")).rows[0]!.n).toBeGreaterThan(50);
      expect((await admin.query("SELECT 1 FROM brin_t")).rowCount).toBe(20000);
    } finally {
      await admin.query("DROP TABLE IF EXISTS brin_t; DROP EXTENSION IF EXISTS pg_surgery");
    }
  });

  it("a session advisory lock a query took is released before its connection serves the next query", async () => {
    const d = new PostgresDriver(url, 1); // one connection: the next query gets the same one
    const open = (sql: string, params: SqlScalar[] = []) => d.open(sql, params, { timeoutMs: 5000, batchRows: 10, signal: new AbortController().signal });
    try {
      // Straight to the driver, as a query that got past the policy would arrive.
      const locking = await open("SELECT pg_advisory_lock(4243), pg_backend_pid()");
      const pid = (await locking.next())?.[0]?.[1];
      await locking.close();
      expect((await admin.query("SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND objid = 4243")).rowCount).toBe(0);
      // The connection, back from the pool, serves the next query (with parameters) as before.
      const next = await open("SELECT pg_backend_pid(), $1::int AS n", [7]);
      expect(await next.next()).toEqual([[pid, 7]]);
      await next.close();
    } finally {
      await d.close();
    }
  });

  it("cancels a long pg_sleep with the statement timeout", async () => {
    const { run } = harness(driver);
    const started = Date.now();
    const o = await run({ sql: "SELECT pg_sleep(20)", timeoutMs: 500 });
    expect(o.error).toMatchObject({ code: "timeout" });
    expect(Date.now() - started).toBeLessThan(3000);
    // Gone from the server soon after: under load the runner's watchdog (250 ms past the statement timeout) can
    // answer while the server is still ending the statement, so it is awaited, not read at once.
    await waitFor(async () => (await running("SELECT pg_sleep(20)%")) === 0, 2000);
  });

  it("cancel really cancels the statement on the server", async () => {
    const { exec, run } = harness(driver);
    const pending = run({ id: "c1", sql: "SELECT pg_sleep(30)", timeoutMs: 60_000 });
    await waitFor(async () => (await running("SELECT pg_sleep(30)%")) === 1);
    const started = Date.now();
    exec.cancel({ type: "cancel", id: "c1" });
    const o = await pending;
    expect(o.error).toMatchObject({ code: "cancelled" });
    expect(Date.now() - started).toBeLessThan(2000);
    await waitFor(async () => (await running("SELECT pg_sleep(30)%")) === 0);
  });

  it("a query cancelled while its rows wait is not handed back to the pool, where a late cancel would hit the next query", async () => {
    const abort = new AbortController();
    const sql = "SELECT g FROM generate_series(1, 100000) AS g -- cancelled while streaming";
    const stream = await driver.open(sql, [], { timeoutMs: 10_000, batchRows: 100, signal: abort.signal });
    expect(await stream.next()).toHaveLength(100);
    const pidOf = async () => (await admin.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE query = $1", [sql])).rows[0]?.pid;
    const pid = await pidOf();
    expect(pid).toBeGreaterThan(0);
    abort.abort(); // the hub cancelled it while the rows waited for credits
    await stream.close();
    const alive = async () => (await admin.query("SELECT 1 FROM pg_stat_activity WHERE pid = $1", [pid])).rowCount === 1;
    await waitFor(async () => !(await alive()));
  });

  it("a backend killed while its rows wait fails that query as db_unavailable, frees its connection and keeps the runner alive", async () => {
    const crashes = uncaughtErrors();
    // One connection: the query after the kill can only run if the dead one's slot went back to the pool.
    const d = new PostgresDriver(url, 1);
    try {
      const sql = "SELECT pg_backend_pid() AS pid, g FROM generate_series(1, 100000) AS g";
      const stream = await d.open(sql, [], { timeoutMs: 10_000, batchRows: 100, signal: new AbortController().signal });
      const first = await stream.next();
      expect(first).toHaveLength(100);
      const pid = Number(first?.[0]?.[0]);
      // The query now waits for hub acks, holding its connection, when the database drops it.
      expect((await admin.query("SELECT pg_terminate_backend($1) AS ok", [pid])).rows[0]).toEqual({ ok: true });
      await waitFor(async () => (await admin.query("SELECT 1 FROM pg_stat_activity WHERE pid = $1", [pid])).rowCount === 0);
      await new Promise((r) => setTimeout(r, 200)); // for the socket's reset to reach the client
      expect(crashes.errors).toEqual([]);
      await expect(stream.next()).rejects.toMatchObject({
        code: "db_unavailable",
        message: expect.stringMatching(/^database unavailable: the connection was lost mid-query \(.+\)$/),
      });
      await within(stream.close(), 5000, "closing the killed query");
      const after = await within(harness(d).run({ sql: "SELECT 1 AS ok" }), 5000, "a query after the kill");
      expect(after.rows).toEqual([[1]]);
      expect(crashes.errors).toEqual([]);
      await within(d.close(), 5000, "ending the pool");
    } finally {
      crashes.stop();
    }
  });

  it("a backend killed while its statement runs fails open() as db_unavailable and keeps the runner alive", async () => {
    const crashes = uncaughtErrors();
    const d = new PostgresDriver(url, 1);
    try {
      const sql = "SELECT pg_sleep(30) AS killed_while_running";
      const opening = d.open(sql, [], { timeoutMs: 60_000, batchRows: 100, signal: new AbortController().signal });
      const settled = opening.then(() => null, (e: unknown) => e);
      await waitFor(async () => (await running(sql)) === 1);
      await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = $1", [sql]);
      expect(await within(settled, 5000, "open() of the killed query")).toMatchObject({ code: "db_unavailable" });
      // Give the socket's end (and the 'error' event that comes with it) time to arrive.
      await new Promise((r) => setTimeout(r, 200));
      expect((await within(harness(d).run({ sql: "SELECT 2 AS ok" }), 5000, "a query after the kill")).rows).toEqual([[2]]);
      expect(crashes.errors).toEqual([]);
      await within(d.close(), 5000, "ending the pool");
    } finally {
      crashes.stop();
    }
  });

  it("runs maxConcurrent queries side by side and can still cancel one of them", async () => {
    // A pool of 10 under maxConcurrent 12 left two queries waiting, and a cancel (which needs a connection
    // of its own) queued behind the very queries it was meant to stop.
    const wide = await createDriver({ kind: "postgres", url }, 12);
    const sql = "SELECT pg_sleep(30) AS side_by_side";
    const aborts = Array.from({ length: 12 }, () => new AbortController());
    const opened = aborts.map((a) =>
      wide.open(sql, [], { timeoutMs: 60_000, batchRows: 10, signal: a.signal }).then(async (s) => (await s.close(), null), (e: unknown) => e),
    );
    await waitFor(async () => (await running(sql)) === 12);
    const started = Date.now();
    aborts[0]!.abort();
    expect(await opened[0]).toMatchObject({ code: "cancelled" });
    expect(Date.now() - started).toBeLessThan(2000);
    for (const a of aborts) a.abort();
    await Promise.all(opened);
    await waitFor(async () => (await running(sql)) === 0);
    await wide.close();
  });

  it("a database that is down gives a clear error without credentials", async () => {
    const down = new PostgresDriver("postgres://someone:hunter2@127.0.0.1:1/nowhere", 5);
    const { run } = harness(down);
    const o = await run({ sql: "SELECT 1" });
    expect(o.error).toMatchObject({ code: "db_unavailable", message: expect.stringMatching(/database unavailable: .*ECONNREFUSED/) });
    expect(o.error?.message).not.toContain("hunter2");
    await expect(down.ping()).rejects.toMatchObject({ code: "db_unavailable" });
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

/** Rejects when `p` has not settled in time: a hang fails the test instead of stalling the suite. */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms)));
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Errors that reached the process (an 'error' event nobody listened to ends a real runner with code 1). */
function uncaughtErrors() {
  const errors: string[] = [];
  const onError = (err: unknown) => errors.push(err instanceof Error ? err.message : String(err));
  process.on("uncaughtException", onError);
  return { errors, stop: () => process.off("uncaughtException", onError) };
}
