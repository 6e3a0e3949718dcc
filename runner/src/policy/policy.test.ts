import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { DbKind, QueryFrame } from "../../../lib/protocol/runner.ts";
import { RunnerError } from "../errors.ts";
import { fileAuditLog } from "./audit.ts";
import { PolicyConfigSchema, type PolicyConfigInput } from "./config.ts";
import { Policy } from "./policy.ts";

const policy = (cfg: PolicyConfigInput = {}) => new Policy(PolicyConfigSchema.parse(cfg), "postgres", "public");
const frame = (f: Partial<QueryFrame>): QueryFrame => ({
  type: "query", id: "q1", requestId: "r1", maxRows: 100, maxBytes: 1_000_000, timeoutMs: 5000, ...f,
});
const refusal = (p: Policy, f: Partial<QueryFrame>) => {
  try {
    p.resolve(frame(f));
    return "accepted";
  } catch (err) {
    expect(err).toBeInstanceOf(RunnerError);
    return `${(err as RunnerError).code}: ${(err as RunnerError).message}`;
  }
};

describe("allow-lists", () => {
  const p = policy({ allow: { schemas: ["sales"], tables: ["public.regions", "hr.*"] } });

  it("allows listed schemas and tables, with the default schema for bare names", () => {
    expect(p.reason("SELECT * FROM sales.orders o JOIN regions r ON r.id = o.region_id")).toBeNull();
    expect(p.reason("SELECT * FROM hr.people")).toBeNull();
    expect(p.reason("WITH x AS (SELECT * FROM sales.orders) SELECT * FROM x")).toBeNull();
  });

  it("refuses anything else, wherever it hides", () => {
    expect(p.reason("SELECT * FROM secrets")).toMatch(/table secrets is not in this runner's allow-list/);
    expect(p.reason("SELECT * FROM sales.orders WHERE id IN (SELECT id FROM public.secrets)")).toMatch(/public.secrets/);
    expect(p.reason("SELECT * FROM information_schema.columns")).toMatch(/allow-list/);
    expect(p.reason("SELECT * FROM pg_stats")).toMatch(/allow-list/);
    expect(p.reason("SELECT (SELECT max(x) FROM private.t) FROM sales.orders")).toMatch(/private.t/);
    // A schema's table-valued function reads that schema; a builtin's unqualified call is no table.
    expect(p.reason("SELECT * FROM private.people_fn()")).toMatch(/function private.people_fn\(\) is not in this runner's allow-list/);
    expect(p.reason("SELECT * FROM sales.orders o JOIN private.people_fn(1) f ON f.id = o.id")).toMatch(/private.people_fn/);
    expect(p.reason("SELECT * FROM sales.orders, generate_series(1, 3) g")).toBeNull();
  });

  it("a schema's function called anywhere counts as its schema's, not only in FROM", () => {
    expect(p.reason("SELECT private.all_salaries()")).toMatch(/function private.all_salaries\(\) is not in this runner's allow-list/);
    expect(p.reason("SELECT id FROM sales.orders WHERE total > private.threshold(id)")).toMatch(/private.threshold\(\)/);
    expect(p.reason("SELECT sales.net(total), hr.bonus(id), lower(region) FROM sales.orders")).toBeNull();
    for (const kind of ["mysql", "mariadb", "mssql", "sqlite"] as DbKind[]) {
      const other = new Policy(PolicyConfigSchema.parse({ allow: { tables: ["canary"] } }), kind, kind === "mssql" ? "dbo" : "main");
      expect(other.reason("SELECT hr.all_salaries()")).toMatch(/function hr.all_salaries\(\) is not in this runner's allow-list/);
    }
  });

  it("PostgreSQL: FROM ONLY, which the parser reads as a table named only or a call of only(), is refused", () => {
    expect(p.reason("SELECT * FROM sales.orders o, ONLY (private.secrets)")).toMatch(/FROM ONLY is not allowed/);
    expect(p.reason("SELECT * FROM ONLY secrets")).toMatch(/FROM ONLY is not allowed/);
  });

  it("T-SQL: a table with its hints in parentheses (no WITH) is still a table, and a locking hint is refused", () => {
    const mssql = new Policy(PolicyConfigSchema.parse({ allow: { schemas: ["dbo"] } }), "mssql", "dbo");
    expect(mssql.reason("SELECT * FROM hr.secrets (NOLOCK)")).toMatch(/table hr.secrets is not in this runner's allow-list/);
    expect(mssql.reason("SELECT * FROM dbo.orders o JOIN secrets (NOLOCK, READPAST) s ON s.id = o.id")).toBeNull();
    expect(mssql.reason("SELECT * FROM dbo.orders (NOLOCK)")).toBeNull();
    expect(mssql.reason("SELECT * FROM dbo.orders (TABLOCKX)")).toMatch(/locking table hints are not allowed/);
    expect(mssql.reason("SELECT * FROM dbo.orders (UPDLOCK, NOLOCK)")).toMatch(/locking table hints are not allowed/);
  });

  it("filters the schema shown in hello", () => {
    const tables = [
      { schema: "sales", name: "orders", columns: [] },
      { schema: "public", name: "secrets", columns: [] },
      { schema: "public", name: "regions", columns: [] },
    ];
    expect(p.visibleSchema(tables).map((t) => `${t.schema}.${t.name}`)).toEqual(["sales.orders", "public.regions"]);
  });
});

describe("allow-lists: a CTE's name stands for the CTE only where the database sees it", () => {
  const on = (kind: DbKind) => new Policy(PolicyConfigSchema.parse({ allow: { tables: ["canary"] } }), kind, kind === "postgres" ? "public" : kind === "mssql" ? "dbo" : "main");
  const everywhere: DbKind[] = ["postgres", "mysql", "mariadb", "sqlite", "mssql"];

  it.each(everywhere)("%s: outside its WITH, the name is the table", (kind) => {
    for (const sql of [
      "SELECT * FROM customers, (WITH customers AS (SELECT 1 AS x) SELECT * FROM customers) q",
      "SELECT * FROM customers WHERE EXISTS (WITH customers AS (SELECT 1 AS x) SELECT 1 FROM customers)",
      "(WITH customers AS (SELECT 1 AS id) SELECT * FROM customers) UNION ALL SELECT id FROM customers",
    ]) {
      expect({ sql, reason: on(kind).reason(sql) }).toEqual({ sql, reason: expect.stringMatching(/table customers is not in this runner's allow-list/) });
    }
  });

  it("in a CTE's body, a later sibling's name is the table, except where the database looks ahead", () => {
    const ahead = "WITH a AS (SELECT * FROM customers), customers AS (SELECT 1 AS x) SELECT * FROM a";
    const aheadRecursive = ahead.replace("WITH", "WITH RECURSIVE");
    const itself = "WITH customers AS (SELECT * FROM customers) SELECT * FROM customers";
    for (const kind of ["postgres", "mysql", "mariadb", "mssql"] as DbKind[]) {
      expect(on(kind).reason(ahead)).toMatch(/table customers is not in/);
    }
    // Without RECURSIVE, a CTE's own name in its body is the table (SQL Server's CTEs may name themselves).
    for (const kind of ["postgres", "mysql", "mariadb"] as DbKind[]) expect(on(kind).reason(itself)).toMatch(/table customers is not in/);
    expect(on("mssql").reason(itself)).toBeNull();
    // Under RECURSIVE, PostgreSQL and MariaDB see every sibling; MySQL only those before and itself.
    expect(on("postgres").reason(aheadRecursive)).toBeNull();
    expect(on("mariadb").reason(aheadRecursive)).toBeNull();
    expect(on("mysql").reason(aheadRecursive)).toMatch(/table customers is not in/);
    // SQLite resolves every name of the WITH in every body (and refuses a circular one).
    expect(on("sqlite").reason(ahead)).toBeNull();
  });

  it.each(everywhere)("%s: where the CTE is in scope, its name is the CTE", (kind) => {
    for (const sql of [
      "WITH x AS (SELECT * FROM canary), y AS (SELECT * FROM x) SELECT * FROM y UNION ALL SELECT * FROM x",
      "WITH x AS (SELECT id FROM canary) SELECT * FROM canary WHERE id IN (SELECT id FROM x)",
      "WITH x AS (SELECT id FROM canary) SELECT * FROM x WHERE EXISTS (SELECT 1 FROM (SELECT * FROM x) s)",
    ]) {
      expect({ sql, reason: on(kind).reason(sql) }).toEqual({ sql, reason: null });
    }
    if (kind !== "mssql") expect(on(kind).reason("WITH RECURSIVE r AS (SELECT 1 AS n UNION ALL SELECT n + 1 FROM r WHERE n < 5) SELECT * FROM r")).toBeNull();
  });
});

describe("masking", () => {
  const p = policy({ maskColumns: ["customers.email", "ssn"] });

  it("lets a masked column be selected as is, and marks it", () => {
    expect(p.reason("SELECT id, email FROM customers")).toBeNull();
    expect(p.reason("SELECT c.email FROM customers c")).toBeNull();
    expect(p.reason("SELECT * FROM customers")).toBeNull();
    expect(p.maskIndexes([{ name: "id" }, { name: "EMAIL" }, { name: "ssn" }])).toEqual([1, 2]);
    const shown = p.visibleSchema([{ schema: "public", name: "customers", columns: [{ name: "email", type: "text", nullable: true }] }]);
    expect(shown[0]?.columns[0]?.masked).toBe(true);
  });

  it("refuses renaming, computing, filtering and whole-row tricks", () => {
    expect(p.reason("SELECT email AS e FROM customers")).toMatch(/masked/);
    expect(p.reason("SELECT lower(email) FROM customers")).toMatch(/masked/);
    expect(p.reason("SELECT id FROM customers WHERE email LIKE 'a%'")).toMatch(/masked/);
    expect(p.reason("SELECT id FROM customers ORDER BY ssn")).toMatch(/masked/);
    expect(p.reason("SELECT x FROM (SELECT ssn AS x FROM customers) s")).toMatch(/masked/);
    expect(p.reason("SELECT id, email FROM customers UNION SELECT 1, ssn FROM customers")).toMatch(/masked/);
    expect(p.reason("SELECT row_to_json(c) FROM customers c")).toMatch(/whole-row/);
    expect(p.reason("SELECT to_jsonb(c.*) FROM customers c")).toMatch(/star/);
  });

  it("refuses what reaches a masked column in PostgreSQL's other spellings: c.f for f(c), USING, positions", () => {
    expect(p.reason("SELECT c.to_jsonb FROM customers c")).toMatch(/c.to_jsonb may be to_jsonb\(c\), the whole row/);
    expect(p.reason("SELECT c.id FROM customers c WHERE c.text LIKE '%123%'")).toMatch(/whole row/);
    const guesses = "SELECT lpad(n::text, 4, '0') AS ssn, n AS v FROM generate_series(0, 9999) n";
    expect(p.reason(`SELECT c.id, g.v FROM customers c JOIN (${guesses}) g USING (ssn)`)).toMatch(/column ssn is masked: it may not be joined on/);
    expect(p.reason("SELECT id, ssn FROM customers ORDER BY 2")).toMatch(/column 2 of the select list is masked/);
    expect(p.reason("SELECT DISTINCT ON (2) id, ssn FROM customers")).toMatch(/column 2 of the select list is masked/);
    expect(p.reason("SELECT id, email FROM customers GROUP BY 1, 2")).toMatch(/column 2 of the select list is masked/);
    expect(p.reason("SELECT * FROM customers ORDER BY 3")).toMatch(/may be masked/);
    // A four-part name (database.schema.table.column) is a column too, which the checks did not see.
    expect(p.reason("SELECT lower(shop.public.customers.ssn) AS x FROM customers")).toMatch(/column ssn is masked/);
    expect(p.reason("SELECT id FROM customers WHERE shop.public.customers.ssn LIKE '1%'")).toMatch(/column ssn is masked/);
    expect(p.reason("SELECT shop.public.customers.ssn FROM customers")).toBeNull();
    // What the masked column is not part of stays allowed.
    expect(p.reason("SELECT id, ssn FROM customers ORDER BY 1")).toBeNull();
    expect(p.reason("SELECT o.id FROM orders o JOIN regions r USING (region_id)")).toBeNull();
    expect(new Policy(PolicyConfigSchema.parse({ maskColumns: ["ssn"] }), "mysql", "shop").reason("SELECT c.text FROM customers c")).toBeNull();
  });
});

describe("masking: what shows or compares a masked column under another name", () => {
  const mask = { maskColumns: ["customers.ssn"] };
  const on = (kind: DbKind) => new Policy(PolicyConfigSchema.parse(mask), kind, kind === "postgres" ? "public" : kind === "mssql" ? "dbo" : "shop");

  it("PostgreSQL: a column list on a table's or function's alias renames its columns", () => {
    for (const sql of ["SELECT s FROM customers AS c(i, n, s)", "SELECT * FROM customers c(i, n, s)", "SELECT o.id FROM orders o JOIN customers c (i, n, s) ON c.i = o.id", "SELECT * FROM hr.people_fn() AS p(i, s)"]) {
      expect({ sql, reason: on("postgres").reason(sql) }).toEqual({ sql, reason: expect.stringMatching(/column list after an alias \(\w+\(.*\)\) renames/) });
    }
    // A subquery's or VALUES' own select list is checked where it stands.
    expect(on("postgres").reason("SELECT * FROM (VALUES (1, 'a')) AS v(n, s)")).toBeNull();
    expect(on("postgres").reason("SELECT s FROM (SELECT ssn FROM customers) AS c(s)")).toMatch(/column ssn is masked/);
  });

  it("PostgreSQL: the whole row as text, bytes, hash, size or NULL count through c.f", () => {
    for (const f of ["record_out", "record_send", "hash_record", "pg_column_size", "num_nulls", "num_nonnulls"]) {
      expect(on("postgres").reason(`SELECT c.${f} FROM customers c`)).toMatch(new RegExp(`c.${f} may be ${f}\\(c\\), the whole row`));
    }
  });

  it.each(["postgres", "mysql", "mariadb", "sqlite", "mssql"] as DbKind[])("%s: set operations other than UNION ALL and DISTINCT over a masked column or a star", (kind) => {
    const p = on(kind);
    const refused = [
      ["SELECT id, ssn FROM customers UNION SELECT 1, '123-45-6789'", /UNION is not allowed over a select list with a masked column/],
      ["SELECT DISTINCT ssn FROM customers", /DISTINCT is not allowed over a select list with a masked column/],
      ["SELECT DISTINCT * FROM customers", /DISTINCT is not allowed/],
    ] as const;
    for (const [sql, why] of refused) expect({ sql, reason: p.reason(sql) }).toEqual({ sql, reason: expect.stringMatching(why) });
    expect(p.reason("SELECT id, ssn FROM customers UNION ALL SELECT 1, 'x'")).toBeNull();
    expect(p.reason("SELECT DISTINCT id, name FROM customers")).toBeNull();
    expect(p.reason("SELECT id FROM customers UNION SELECT 2")).toBeNull();
  });

  it("INTERSECT, EXCEPT, MINUS and UNION DISTINCT, where the dialect's parser reads them", () => {
    expect(on("postgres").reason("SELECT id, ssn FROM customers INTERSECT SELECT 1, '123-45-6789'")).toMatch(/^INTERSECT is not allowed/);
    expect(on("postgres").reason("SELECT ssn FROM customers EXCEPT SELECT '123-45-6789'")).toMatch(/^EXCEPT is not allowed/);
    expect(on("postgres").reason("SELECT * FROM customers INTERSECT SELECT 1, 'Ann', '123-45-6789'")).toMatch(/^INTERSECT is not allowed/);
    // A parenthesised arm, which the parser reads as a FROM item joined by the operator.
    expect(on("postgres").reason("SELECT id, ssn FROM customers INTERSECT (SELECT 1, '123-45-6789')")).toMatch(/^INTERSECT is not allowed/);
    expect(on("mariadb").reason("SELECT id, ssn FROM customers UNION ALL (SELECT 1, 'x') EXCEPT (SELECT 1, '123-45-6789')")).toMatch(/^EXCEPT is not allowed/);
    expect(on("postgres").reason("SELECT id, ssn FROM customers UNION ALL (SELECT 1, 'x')")).toBeNull();
    expect(on("mariadb").reason("SELECT id, ssn FROM customers INTERSECT SELECT 1, '123-45-6789'")).toMatch(/^INTERSECT is not allowed/);
    expect(on("mariadb").reason("SELECT id, ssn FROM customers MINUS SELECT 1, '123-45-6789'")).toMatch(/^MINUS is not allowed/);
    expect(on("mysql").reason("SELECT ssn FROM customers UNION DISTINCT SELECT 'x'")).toMatch(/^UNION DISTINCT is not allowed/);
    // Without a masked column, nothing to compare.
    expect(on("postgres").reason("SELECT id FROM customers INTERSECT SELECT 1")).toBeNull();
    expect(on("postgres").reason("SELECT DISTINCT ON (id) id, ssn FROM customers")).toBeNull();
  });

  it("NATURAL joins, which match on every column of the same name (the parser reads NATURAL as an alias)", () => {
    expect(on("postgres").reason("SELECT id, name FROM customers NATURAL JOIN (VALUES ('123-45-6789')) AS g(ssn)")).toMatch(/NATURAL joins are not allowed while columns are masked/);
    expect(on("postgres").reason("SELECT id FROM customers natural left join g")).toMatch(/NATURAL joins/);
    expect(on("sqlite").reason("SELECT * FROM customers NATURAL JOIN (SELECT '123-45-6789' AS ssn) g")).toMatch(/NATURAL joins/);
    expect(on("postgres").reason('SELECT "natural" FROM customers')).toBeNull();
    expect(on("mssql").reason("SELECT natural FROM customers")).toBeNull(); // a name in T-SQL, which has no NATURAL join
    expect(policy().reason("SELECT id FROM customers NATURAL JOIN g")).toBeNull();
  });

  it("MySQL, MariaDB and SQLite name `ssn COLLATE x` by its text: only a bare column counts as selected as is", () => {
    for (const kind of ["mysql", "mariadb", "sqlite", "mssql", "postgres"] as DbKind[]) {
      const collate = kind === "postgres" ? 'ssn COLLATE "C"' : kind === "mssql" ? "ssn COLLATE Latin1_General_BIN" : "ssn collate utf8mb4_bin";
      expect(on(kind).reason(`SELECT ${collate} FROM customers`)).toMatch(/column ssn is masked: it may only be selected as is/);
      expect(on(kind).reason("SELECT (ssn) FROM customers")).toMatch(/column ssn is masked/);
      expect(on(kind).reason("SELECT c.ssn, ssn FROM customers c")).toBeNull();
    }
  });

  it("MariaDB: DISTINCTROW, which its parser reads as a column named so", () => {
    expect(on("mariadb").reason("SELECT DISTINCTROW ssn FROM customers")).toMatch(/DISTINCTROW is not allowed while columns are masked/);
  });
});

describe("text the policy's parser and the database would read differently", () => {
  // The parser reads \' as an escaped quote and any -- as a comment; PostgreSQL, SQLite and SQL Server do not
  // escape with backslashes, and MySQL needs a space after --. Each of these once passed the policy while the
  // database ran a query reading a table outside the allow-list, a masked column or a denied function.
  const cfg = { allow: { tables: ["public.regions", "sales.*"] }, maskColumns: ["ssn"] };
  const on = (kind: DbKind) => new Policy(PolicyConfigSchema.parse(cfg), kind, kind === "postgres" ? "public" : "sales");
  const cases: [DbKind, string][] = [
    ["postgres", String.raw`SELECT '\' AS a, ssn AS x FROM hr.people --'`],
    ["postgres", String.raw`SELECT '\' AS a, pg_terminate_backend(pid) AS x FROM pg_stat_activity --'`],
    ["postgres", String.raw`SELECT 'a\''' AS a, ssn FROM hr.people --'`],
    ["postgres", String.raw`SELECT "a\" AS x, ssn FROM hr.people -- "`],
    ["sqlite", String.raw`SELECT '\' AS a, ssn AS x FROM people --'`],
    ["mssql", String.raw`SELECT '\' AS a, ssn AS x FROM hr.people --'`],
    ["mysql", "SELECT 1 --1, ssn AS x FROM hr.people"],
    ["mariadb", "SELECT 1 --1, LOAD_FILE('/etc/passwd') AS f"],
    // A no-break or ideographic space is whitespace to JavaScript, not to MySQL: `--` and then a name.
    ["mysql", "SELECT x --\u00a0, GET_LOCK('app_lock', 0) AS l, LOAD_FILE('/etc/passwd') AS f\nFROM (SELECT 1 AS x, 2 AS `\u00a0`) s"],
    ["mariadb", "SELECT x --\u3000, ssn FROM hr.people\nFROM (SELECT 1 AS x) s"],
  ];

  it.each(cases)("%s: refuses %j, saying why", (kind, sql) => {
    expect(on(kind).reason(sql)).toMatch(/is not allowed: the policy and the database would read the statement differently/);
  });

  it("still accepts backslashes both read alike, and -- comments followed by a space", () => {
    expect(on("postgres").reason(String.raw`SELECT 'C:\temp\x' || 'y' AS p, '\\' AS q FROM regions`)).toBeNull();
    expect(on("mysql").reason(String.raw`SELECT 'it\'s' AS s, 2 - -1 AS n FROM orders -- a comment`)).toBeNull();
  });

  it("refuses functions that run SQL given as text", () => {
    expect(on("postgres").reason("SELECT ts_stat('SELECT to_tsvector(''simple'', ssn) FROM hr.people')")).toMatch(/runs SQL given as text/);
    expect(on("postgres").reason("SELECT * FROM crosstab('SELECT ssn, 1, 2 FROM hr.people') AS t(a text, b int)")).toMatch(/runs SQL given as text/);
  });
});

describe("named queries and limits", () => {
  const named = [{ name: "by_region", sql: "SELECT region, total FROM sales WHERE day = $1 AND region = $2", params: ["day", "region"] }];

  it("fills params in the configured order", () => {
    const q = policy({ namedQueries: named }).resolve(frame({ named: "by_region", params: { region: "EU", day: "2026-11-01" } }));
    expect(q).toMatchObject({ sql: named[0]!.sql, params: ["2026-11-01", "EU"], named: "by_region" });
  });

  it("refuses unknown names, missing params and, in named-only mode, ad-hoc SQL", () => {
    const p = policy({ namedQueries: named, namedOnly: true });
    expect(refusal(p, { named: "nope" })).toMatch(/^unknown_query/);
    expect(refusal(p, { named: "by_region", params: { day: "x" } })).toMatch(/^bad_params: missing params for by_region: region/);
    expect(refusal(p, { sql: "SELECT 1" })).toMatch(/^policy_denied: this runner accepts named queries only/);
  });

  it("reports named queries the policy itself would refuse", () => {
    const p = policy({ namedQueries: [{ name: "bad", sql: "DELETE FROM t" }] });
    expect(p.problems()).toEqual([expect.stringMatching(/named query bad: only a single SELECT/)]);
  });

  it("caps the frame's limits at the policy's", () => {
    const q = policy({ maxRows: 10, maxBytes: 500, timeoutMs: 1000 }).resolve(frame({ sql: "SELECT 1", maxRows: 1e6, maxBytes: 1e9, timeoutMs: 1e6 }));
    expect(q).toMatchObject({ maxRows: 10, maxBytes: 500, timeoutMs: 1000 });
    expect(policy().resolve(frame({ sql: "SELECT 1", maxRows: 5 })).maxRows).toBe(5);
  });
});

describe("audit log", () => {
  it("appends one JSON line per entry", () => {
    const path = join(mkdtempSync(join(tmpdir(), "cio-audit-")), "sub", "audit.jsonl");
    const log = fileAuditLog(path);
    log.write({ id: "q1", requestId: "r1", event: "request", sql: "SELECT 1" });
    log.write({ id: "q1", requestId: "r1", event: "done", rowCount: 1 });
    const lines = readFileSync(path, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toMatchObject([{ event: "request", sql: "SELECT 1" }, { event: "done", rowCount: 1 }]);
    expect(typeof lines[0]?.ts).toBe("string");
  });
});

describe("mysql2's parameters, which it writes into the text at every ?", () => {
  const p = new Policy(PolicyConfigSchema.parse({}), "mariadb", "app");
  const file = "*/, LOAD_FILE(0x2f6574632f686f73746e616d65) AS f /*";

  it("a ? inside a comment, a hint or a string is refused when parameters come with it", () => {
    expect(refusal(p, { sql: "SELECT 1 /*+ ? */", params: [file] })).toMatch(/^policy_denied: .*optimizer hints/);
    expect(refusal(p, { sql: "SELECT 1 /* ? */", params: [file] })).toMatch(/^bad_params: .*only as a placeholder/);
    expect(refusal(p, { sql: "SELECT '?' AS a, ? AS b", params: ["x", "y"] })).toMatch(/^bad_params/);
    expect(refusal(p, { sql: "SELECT 1 AS a -- ?\n", params: [file] })).toMatch(/^bad_params/);
  });

  it("a named query with such a ? is reported when the policy is loaded", () => {
    const named = new Policy(PolicyConfigSchema.parse({ namedQueries: [{ name: "odd", sql: "SELECT id FROM t WHERE note = 'why?' AND id = ?", params: ["id"] }] }), "mysql", "app");
    expect(named.problems()).toEqual([expect.stringMatching(/^named query odd: with parameters, \? may appear only as a placeholder/)]);
  });

  it("placeholders in code are fine, and so is a ? in a string when nothing is filled in", () => {
    expect(refusal(p, { sql: "SELECT ? AS a, ? AS b", params: [1, "x"] })).toBe("accepted");
    expect(refusal(p, { sql: "SELECT 'why?' AS a" })).toBe("accepted");
  });
});

describe("PostgreSQL's catalog, searched before any schema", () => {
  it("an unqualified pg_* name is pg_catalog's: an allow-list of public does not let it through", () => {
    const p = policy({ allow: { schemas: ["public"] } });
    expect(p.reason("SELECT * FROM orders")).toBeNull();
    expect(p.reason("SELECT schemaname, tablename, most_common_vals FROM pg_stats")).toMatch(/pg_stats is not in this runner's allow-list/);
    expect(p.reason("SELECT query FROM pg_stat_activity")).toMatch(/allow-list/);
  });

  it("with columns masked, the planner's statistics (sample values of every column) are refused", () => {
    const sql = "SELECT most_common_vals FROM pg_stats WHERE attname = 'ssn'";
    expect(policy({ maskColumns: ["ssn"] }).reason(sql)).toMatch(/sample values of columns/);
    expect(policy({ maskColumns: ["ssn"] }).reason("SELECT * FROM pg_catalog.pg_statistic")).toMatch(/sample values/);
    expect(policy().reason(sql)).toBeNull();
    const sqlite = new Policy(PolicyConfigSchema.parse({ maskColumns: ["ssn"] }), "sqlite", "main");
    expect(sqlite.reason("SELECT sample FROM sqlite_stat4")).toMatch(/sample values/);
  });
});

