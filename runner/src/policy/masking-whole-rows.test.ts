/**
 * A FROM item's alias written as a column is its whole row in PostgreSQL, masked columns included: a table's
 * (`row_to_json(c)`), and as much a parenthesised join's or a function's, which the policy once did not see.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PostgresDriver } from "../drivers/postgres.ts";
import { preparePostgres, unavailable } from "../test-support/databases.ts";
import { harness, notRefused } from "../test-support/harness.ts";
import { PolicyConfigSchema } from "./config.ts";
import { Policy } from "./policy.ts";

const masked = new Policy(PolicyConfigSchema.parse({ maskColumns: ["customers.ssn"] }), "postgres", "public");
const join = "(customers JOIN orders USING (id))";

describe("masking: whole rows under a FROM item's alias", () => {
  it("a parenthesised join's alias is its joined row: refused bare, in a call, cast or functional notation", () => {
    for (const sql of [
      `SELECT j FROM ${join} AS j`,
      "SELECT to_jsonb(j) FROM (customers c JOIN orders o ON o.id = c.id) j",
      `SELECT j::text FROM ${join} AS j`,
      `SELECT o.id FROM orders o WHERE EXISTS (SELECT 1 FROM ${join} j WHERE j::text LIKE '%123%')`,
      `SELECT 1 FROM (${join} AS x JOIN regions USING (id)) AS y WHERE x IS NOT NULL`, // a join nested in another
    ]) {
      expect({ sql, reason: masked.reason(sql) }).toEqual({ sql, reason: "whole-row references are not allowed while columns are masked" });
    }
    expect(masked.reason(`SELECT j.to_jsonb FROM ${join} AS j`)).toMatch(/j.to_jsonb may be to_jsonb\(j\), the whole row/);
  });

  it("a function's alias is its returned row", () => {
    expect(masked.reason("SELECT p FROM hr.people_fn() p")).toBe("whole-row references are not allowed while columns are masked");
    expect(masked.reason("SELECT row_to_json(p) FROM hr.people_fn() AS p")).toMatch(/whole-row/);
  });

  it("a column list after a join's alias renames its columns, the masked one too", () => {
    expect(masked.reason(`SELECT c FROM ${join} AS j(a, b, c, d)`)).toMatch(/a column list after an alias \(j\(a, b, c, d\)\) renames the columns of a table, function or join/);
    // A subquery's or VALUES' list renames what their own select list shows, which is checked where it stands.
    expect(masked.reason("SELECT * FROM (VALUES (1, 'a')) AS v(n, s)")).toBeNull();
    expect(masked.reason("SELECT x FROM (SELECT id FROM customers) AS s(x)")).toBeNull();
  });

  it("what names a column, not a row, stays allowed", () => {
    expect(masked.reason(`SELECT j.id, j.ssn, j.total FROM ${join} AS j`)).toBeNull();
    expect(masked.reason(`SELECT * FROM ${join} AS j`)).toBeNull();
    expect(masked.reason("SELECT n.n FROM generate_series(1, 3) n")).toBeNull();
    // Without a masked column there is nothing to hide.
    const open = new Policy(PolicyConfigSchema.parse({}), "postgres", "public");
    expect(open.reason(`SELECT j FROM ${join} AS j(a, b, c, d)`)).toBeNull();
  });
});

const db = await preparePostgres();
const skip = unavailable("PostgreSQL", "reason" in db ? db.reason : null);
const url = "url" in db ? db.url : "";

describe.skipIf(skip)("masking: whole rows under a FROM item's alias, on PostgreSQL", () => {
  let admin: pg.Client;
  let driver: PostgresDriver;
  beforeAll(async () => {
    admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`DROP TABLE IF EXISTS mask_customers, mask_orders;
      CREATE TABLE mask_customers (id int PRIMARY KEY, name text, ssn text); CREATE TABLE mask_orders (id int, total int);
      INSERT INTO mask_customers VALUES (1, 'Ann', '123-45-6789'); INSERT INTO mask_orders VALUES (1, 10);`);
    driver = new PostgresDriver(url, 2);
  });
  afterAll(async () => {
    await admin?.query("DROP TABLE IF EXISTS mask_customers, mask_orders");
    await driver?.close();
    await admin?.end();
  });

  it("never lets the masked value out through the join's alias", async () => {
    const { run } = harness(driver, { maskColumns: ["mask_customers.ssn"] });
    const j = "(mask_customers JOIN mask_orders USING (id))";
    expect((await run({ sql: `SELECT j.id, j.ssn FROM ${j} AS j` })).rows).toEqual([[1, "****"]]);
    const leaks = [
      `SELECT j FROM ${j} AS j`,
      "SELECT to_jsonb(j) AS doc FROM (mask_customers c JOIN mask_orders o ON o.id = c.id) j",
      `SELECT j::text AS t FROM ${j} AS j`,
      `SELECT c FROM ${j} AS j(a, b, c, d)`, // c is ssn
    ];
    expect(await notRefused(run, leaks)).toEqual([]);
  });
});
