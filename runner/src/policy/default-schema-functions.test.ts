/**
 * A function of the default schema called without its schema: the database finds it there (PostgreSQL's
 * search_path is set to public, MySQL's the connection's database) as it finds an unqualified table, so it
 * reads what `public.f()` reads. The runner learns those functions with the schema, and the allow-list counts
 * such a call as the schema's, as it counts a qualified one.
 */
import mysql from "mysql2/promise";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DbKind, SchemaTable } from "../../../lib/protocol/runner.ts";
import { readSchema, SchemaReader } from "../client/hello.ts";
import { MysqlDriver } from "../drivers/mysql.ts";
import { PostgresDriver } from "../drivers/postgres.ts";
import { silentLogger } from "../log.ts";
import { prepareMysql, preparePostgres, unavailable } from "../test-support/databases.ts";
import { harness, notRefused } from "../test-support/harness.ts";
import { PolicyConfigSchema } from "./config.ts";
import { Policy } from "./policy.ts";

const allowOnly = { allow: { tables: ["fn_allowed"] } };
const on = (kind: DbKind, schema: string) => new Policy(PolicyConfigSchema.parse(allowOnly), kind, schema);

describe("allow-lists: an unqualified call of the default schema's function", () => {
  it("is that schema's function, refused unless allowed, and named in the refusal", () => {
    const p = on("postgres", "public");
    p.learnFunctions(["all_secrets", "Threshold"]);
    expect(p.reason("SELECT * FROM all_secrets()")).toBe("function public.all_secrets() is not in this runner's allow-list (a schema's function reads what its schema holds)");
    expect(p.reason("SELECT all_secrets()")).toMatch(/function public.all_secrets\(\) is not/);
    expect(p.reason("SELECT id FROM fn_allowed WHERE id > threshold(id)")).toMatch(/function public.threshold\(\) is not/);
    expect(p.reason("SELECT id FROM fn_allowed WHERE EXISTS (SELECT 1 FROM all_secrets() s)")).toMatch(/public.all_secrets/);
    // PostgreSQL's attribute notation: a.all_secrets is all_secrets(a).
    expect(p.reason("SELECT a.all_secrets FROM fn_allowed a")).toMatch(/function public.all_secrets\(\) is not/);
    // Builtins and other names stay what they were.
    expect(p.reason("SELECT lower('A'), id FROM fn_allowed, generate_series(1, 2) g")).toBeNull();
  });

  it("passes once the function is allowed, and with no allow-list at all", () => {
    const p = new Policy(PolicyConfigSchema.parse({ allow: { tables: ["fn_allowed", "all_secrets"] } }), "postgres", "public");
    p.learnFunctions(["all_secrets"]);
    expect(p.reason("SELECT * FROM all_secrets()")).toBeNull();
    const open = new Policy(PolicyConfigSchema.parse({}), "postgres", "public");
    open.learnFunctions(["all_secrets"]);
    expect(open.reason("SELECT * FROM all_secrets()")).toBeNull();
  });

  it("MySQL and MariaDB: the connection's database's stored function", () => {
    for (const kind of ["mysql", "mariadb"] as DbKind[]) {
      const p = on(kind, "shop");
      p.learnFunctions(["audit_secret"]);
      expect(p.reason("SELECT audit_secret() AS v")).toMatch(/function shop.audit_secret\(\) is not in this runner's allow-list/);
      expect(p.reason("SELECT `audit_secret`() AS v")).toMatch(/shop.audit_secret/);
      expect(p.reason("SELECT upper(audit_secret) FROM fn_allowed")).toBeNull(); // a column of that name
    }
  });

  it("is learned with each schema read: a new function after the next read, the last list kept when a read fails", async () => {
    const p = on("postgres", "public");
    let functions: string[] | Error = ["all_secrets"];
    const driver = { schema: async (): Promise<SchemaTable[]> => [], functions: async () => (functions instanceof Error ? Promise.reject(functions) : functions) };
    const reader = new SchemaReader({ driver, policy: p }, silentLogger());
    expect(p.reason("SELECT later()")).toBeNull(); // before any read: not known (the README's residual)
    await reader.read();
    expect(p.reason("SELECT all_secrets()")).toMatch(/public.all_secrets/);
    functions = ["all_secrets", "later"];
    await reader.read();
    expect(p.reason("SELECT later()")).toMatch(/public.later/);
    functions = new Error("connection lost");
    await reader.read();
    expect(p.reason("SELECT later()")).toMatch(/public.later/);
  });
});

const pgDb = await preparePostgres();
const pgSkip = unavailable("PostgreSQL", "reason" in pgDb ? pgDb.reason : null);
const pgUrl = "url" in pgDb ? pgDb.url : "";

describe.skipIf(pgSkip)("allow-lists: the default schema's functions, on PostgreSQL", () => {
  let admin: pg.Client;
  let driver: PostgresDriver;
  beforeAll(async () => {
    admin = new pg.Client({ connectionString: pgUrl });
    await admin.connect();
    await admin.query(`DROP TABLE IF EXISTS fn_allowed, fn_secrets CASCADE;
      CREATE TABLE fn_allowed (id int); INSERT INTO fn_allowed VALUES (1);
      CREATE TABLE fn_secrets (v text); INSERT INTO fn_secrets VALUES ('top secret');
      CREATE FUNCTION fn_all_secrets() RETURNS SETOF fn_secrets LANGUAGE sql AS 'SELECT * FROM public.fn_secrets';
      CREATE FUNCTION fn_secret_of(fn_allowed) RETURNS text LANGUAGE sql AS 'SELECT v FROM public.fn_secrets LIMIT 1';`);
    driver = new PostgresDriver(pgUrl, 2);
  });
  afterAll(async () => {
    // CASCADE drops the functions, which depend on the tables' row types.
    await admin?.query("DROP TABLE IF EXISTS fn_allowed, fn_secrets CASCADE");
    await driver?.close();
    await admin?.end();
  });

  it("reads public's functions, and refuses them called without their schema", async () => {
    expect(await driver.functions()).toEqual(expect.arrayContaining(["fn_all_secrets", "fn_secret_of"]));
    const { run, policy } = harness(driver, { allow: { tables: ["fn_allowed"] } });
    await readSchema({ driver, policy });
    const leaks = ["SELECT * FROM fn_all_secrets()", "SELECT fn_all_secrets()", "SELECT fn_secret_of(a) FROM fn_allowed a", "SELECT a.fn_secret_of FROM fn_allowed a"];
    expect(await notRefused(run, leaks)).toEqual([]);
    expect((await run({ sql: "SELECT id FROM fn_allowed" })).rows).toEqual([[1]]);
  });
});

const myDb = await prepareMysql();
const mySkip = unavailable("MariaDB", "reason" in myDb ? myDb.reason : null);
const myUrl = "url" in myDb ? myDb.url : "";

describe.skipIf(mySkip)("allow-lists: the connection's database's stored functions, on MySQL/MariaDB", () => {
  let admin: mysql.Connection;
  let driver: MysqlDriver;
  beforeAll(async () => {
    admin = await mysql.createConnection({ uri: myUrl, multipleStatements: true });
    await admin.query(`DROP TABLE IF EXISTS fn_allowed, fn_secrets; DROP FUNCTION IF EXISTS fn_secret;
      CREATE TABLE fn_allowed (id int); INSERT INTO fn_allowed VALUES (1);
      CREATE TABLE fn_secrets (v text); INSERT INTO fn_secrets VALUES ('top secret');
      CREATE FUNCTION fn_secret() RETURNS text READS SQL DATA RETURN (SELECT v FROM fn_secrets LIMIT 1);`);
    driver = new MysqlDriver(myUrl, "mariadb", 2);
  });
  afterAll(async () => {
    await admin?.query("DROP TABLE IF EXISTS fn_allowed, fn_secrets; DROP FUNCTION IF EXISTS fn_secret");
    await driver?.close();
    await admin?.end();
  });

  it("reads the database's stored functions, and refuses them called without the database", async () => {
    expect(await driver.functions()).toContain("fn_secret");
    const { run, policy } = harness(driver, { allow: { tables: ["fn_allowed"] } });
    await readSchema({ driver, policy });
    expect(await notRefused(run, ["SELECT fn_secret() AS v", "SELECT id FROM fn_allowed WHERE fn_secret() LIKE 'top%'"])).toEqual([]);
    expect((await run({ sql: "SELECT id FROM fn_allowed" })).rows).toEqual([[1]]);
  });
});
