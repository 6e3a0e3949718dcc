import { describe, expect, it } from "vitest";
import { benign, hostileFor } from "../test-support/hostile.ts";
import { checkReadOnly } from "./read-only.ts";
import type { Dialect } from "./dialect.ts";

const families: [Dialect, "postgres" | "mysql"][] = [
  ["postgresql", "postgres"],
  ["mysql", "mysql"],
  ["mariadb", "mysql"],
];

describe.each(families)("read-only check in %s", (dialect, family) => {
  const hostile = hostileFor(family);

  it("has at least 50 hostile statements", () => {
    expect(hostile.length).toBeGreaterThanOrEqual(50);
  });

  it.each(hostile.map((sql) => [sql]))("refuses %j with a reason", (sql) => {
    const v = checkReadOnly(sql, dialect);
    expect(v.ok).toBe(false);
    if (!v.ok) expect(v.reason).toMatch(/not allowed|only a single SELECT is allowed, not|empty statement|could not be parsed|unterminated/);
  });

  it.each(benign[family].map((sql) => [sql]))("accepts %j", (sql) => {
    expect(checkReadOnly(sql, dialect)).toMatchObject({ ok: true });
  });
});

describe("reasons say what was wrong", () => {
  const reason = (sql: string, d: Dialect = "postgresql") => {
    const v = checkReadOnly(sql, d);
    return v.ok ? "accepted" : v.reason;
  };

  it("names the statement kind, the lock, the CTE, the function", () => {
    expect(reason("DELETE FROM t")).toMatch(/only a single SELECT is allowed, not DELETE/);
    expect(reason("SELECT 1; DELETE FROM t")).toMatch(/multiple statements/);
    expect(reason("SELECT * FROM t FOR UPDATE")).toMatch(/locking clause FOR UPDATE/);
    expect(reason("SELECT * FROM t LOCK IN SHARE MODE", "mysql")).toMatch(/locking clause LOCK IN SHARE MODE/);
    expect(reason("SELECT * FROM t FOR NO KEY UPDATE")).toMatch(/locking clause FOR NO KEY UPDATE/);
    expect(reason("COPY t TO '/tmp/x'")).toMatch(/not COPY/);
    expect(reason("WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d")).toMatch(/data-modifying/);
    expect(reason("WITH x AS (INSERT INTO t VALUES (1) RETURNING a) SELECT a FROM x")).toMatch(/data-modifying INSERT/);
    expect(reason("SELECT * INTO x FROM t")).toMatch(/SELECT … INTO/);
    expect(reason("SELECT pg_terminate_backend(1)")).toMatch(/pg_terminate_backend\(\) is not allowed/);
    expect(reason("SELECT sleep(5)", "mysql")).toMatch(/sleep\(\) is not allowed/);
    expect(reason("SELECT lowrite(lo_open(1, 131072), 'x')")).toMatch(/not allowed/);
    expect(reason("SELECT loread(0, 10)")).toMatch(/loread\(\) is not allowed/);
    expect(reason("SELECT * FROM pg_copy_logical_replication_slot('a', 'b')")).toMatch(/pg_copy_logical_replication_slot\(\) is not allowed/);
    expect(reason("SELECT 1 /*! , 2 */", "mysql")).toMatch(/executable comments/);
  });

  it("refuses MySQL optimizer hints: they set session variables and the timeout, and mysql2 fills ? inside them", () => {
    expect(reason("SELECT 1 /*+ x */", "mysql")).toMatch(/optimizer hints/);
    expect(reason("SELECT /*+ MAX_EXECUTION_TIME(100000) */ * FROM t", "mariadb")).toMatch(/optimizer hints/);
    expect(reason("SELECT /*+ SET_VAR(sql_mode='NO_BACKSLASH_ESCAPES') */ 1", "mysql")).toMatch(/optimizer hints/);
    expect(reason("SELECT 1 /* + a plain comment */", "mysql")).toBe("accepted");
  });

  it("refuses assigning a MySQL user variable: it survives the ROLLBACK on the pooled connection", () => {
    for (const dialect of ["mysql", "mariadb"] as const) {
      expect(reason("SELECT @a := 1", dialect)).toMatch(/user variable \(:=\) is not allowed/);
      expect(reason("SELECT x, @n := x + 1 AS n FROM t", dialect)).toMatch(/user variable/);
      expect(reason("SELECT * FROM (SELECT @k := secret FROM t) s", dialect)).toMatch(/user variable/);
      expect(reason("SELECT @a", dialect)).toBe("accepted"); // reading one is harmless
    }
  });

  it("refuses a T-SQL statement word the parser took for an alias: T-SQL needs no ; between statements", () => {
    for (const sql of ["SELECT * FROM t SHUTDOWN", "SELECT 1 RECONFIGURE", "SELECT 1 CHECKPOINT", "SELECT 1 COMMIT", "SELECT a FROM t SETUSER", "SELECT 1 x WAITFOR DELAY '01:00'"]) {
      expect({ sql, reason: reason(sql, "transactsql") }).toEqual({ sql, reason: expect.stringMatching(/not allowed: in T-SQL it starts another statement/) });
    }
    // Quoted, or in a string, such a word is a name or text; FETCH belongs to OFFSET … FETCH.
    expect(reason("SELECT [set], 'commit' AS c FROM t ORDER BY c OFFSET 0 ROWS FETCH NEXT 5 ROWS ONLY", "transactsql")).toBe("accepted");
  });

  it("takes PostgreSQL's x.f for the call f(x): a qualified column named after a denied function is refused", () => {
    const cases = [
      "SELECT x.pg_terminate_backend FROM unnest(ARRAY[123]) x",
      "SELECT x.pg_cancel_backend FROM unnest(ARRAY[123]) x",
      "SELECT x.pg_advisory_lock FROM unnest(ARRAY[42::bigint]) x",
      "SELECT f.pg_read_file FROM unnest(ARRAY['/etc/passwd']) f",
      "SELECT f.pg_ls_dir FROM unnest(ARRAY['.']) f",
      "SELECT f.pg_stat_file FROM unnest(ARRAY['postgresql.conf']) f",
      "SELECT x.lo_import FROM unnest(ARRAY['/etc/hostname']) x",
      "SELECT q.ts_stat FROM unnest(ARRAY['SELECT to_tsvector(secret) FROM hr.secret']) q",
      "SELECT c.dblink_connect, e.dblink_exec FROM unnest(ARRAY['dbname=x']) c, unnest(ARRAY['DELETE FROM canary']) e",
      "SELECT s.pg_create_physical_replication_slot FROM unnest(ARRAY['slot']) s",
      "SELECT 1 FROM unnest(ARRAY[1]) x WHERE x.pg_terminate_backend",
      "SELECT x.\"pg_read_file\"::text FROM unnest(ARRAY['/etc/passwd']) x",
      "SELECT public.t.pg_advisory_lock FROM t",
      "SELECT db.public.t.pg_advisory_lock FROM t",
    ];
    for (const sql of cases) {
      expect({ sql, reason: reason(sql) }).toEqual({ sql, reason: expect.stringMatching(/\.(\w+) is \1\(\w+\) in PostgreSQL: function \1\(\) is not allowed/) });
    }
    expect(reason("SELECT q.ts_stat FROM unnest(ARRAY['x']) q")).toMatch(/^q.ts_stat is ts_stat\(q\) in PostgreSQL: .*runs SQL given as text/);
    expect(checkReadOnly("SELECT t.my_udf FROM t", "postgresql", ["my_udf"])).toMatchObject({ ok: false });
    // Unqualified, a name is only ever a column; other dialects have no attribute notation.
    expect(reason("SELECT pg_terminate_backend, lo_id FROM t")).toBe("accepted");
    expect(reason("SELECT x.id, x.pg_sleep FROM t x")).toBe("accepted");
    expect(reason("SELECT x.sleep, x.get_lock FROM t x", "mysql")).toBe("accepted");
  });

  it("refuses PostgreSQL functions that write lasting changes inside a read-only transaction, or read raw pages", () => {
    for (const sql of [
      "SELECT brin_summarize_new_values('t_brin')",
      "SELECT brin_summarize_range('t_brin', 0)",
      "SELECT brin_desummarize_range('t_brin', 0)",
      "SELECT gin_clean_pending_list('t_gin')",
      "SELECT heap_force_kill('t', '{\"(0,1)\"}')",
      "SELECT heap_force_freeze('t', '{\"(0,1)\"}')",
      "SELECT pg_truncate_visibility_map('t')",
      "SELECT autoprewarm_dump_now()",
      "SELECT get_raw_page('hr.people', 0)",
      "SELECT * FROM bt_page_items('hr.people_pkey', 1)",
    ]) {
      expect({ sql, reason: reason(sql) }).toEqual({ sql, reason: expect.stringMatching(/^function \w+\(\) is not allowed: it has side effects/) });
    }
    expect(reason("SELECT * FROM xpath_table('id', 'doc', 'hr.people', '/a', 'true') AS t")).toMatch(/xpath_table\(\) is not allowed: it runs SQL given as text/);
  });

  it("lets pg_sleep through: the statement timeout bounds it", () => {
    expect(reason("SELECT pg_sleep(10)")).toBe("accepted");
  });

  it("honours an extra deny list and other dialects", () => {
    expect(checkReadOnly("SELECT my_udf(1)", "postgresql", ["my_udf"])).toMatchObject({ ok: false });
    expect(reason("SELECT load_extension('x')", "sqlite")).toMatch(/load_extension/);
    expect(reason("SELECT * FROM OPENROWSET('a','b','c')", "transactsql")).toMatch(/openrowset/);
    expect(reason("SELECT * FROM sys.dm_db_stats_histogram(1, 1)", "transactsql")).not.toBe("accepted");
    expect(reason("SELECT TOP 5 * FROM dbo.t", "transactsql")).toBe("accepted");
    expect(reason("ATTACH DATABASE '/tmp/x' AS x", "sqlite")).toMatch(/not ATTACH/);
  });
});
