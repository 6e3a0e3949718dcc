/**
 * `#` in SQLite: node-sql-parser's SQLite grammar reads it as a line comment, as MySQL does, while SQLite
 * reads `#p` as a named parameter (unbound: NULL) and runs the rest of the line, which the policy never saw.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SqliteDriver } from "../drivers/sqlite.ts";
import { harness, notRefused } from "../test-support/harness.ts";
import { makeSqliteFile } from "../test-support/sqlite-file.ts";
import { PolicyConfigSchema } from "./config.ts";
import { Policy } from "./policy.ts";

const cfg = { allow: { tables: ["canary", "people"] }, maskColumns: ["people.email"] };
const sqlite = new Policy(PolicyConfigSchema.parse(cfg), "sqlite", "main");
const hashRefused = /^`#` \(a comment to the policy's parser, a parameter to SQLite, which runs the rest of the line\) is not allowed/;

describe("SQLite: `#` outside quotes and comments", () => {
  it("is refused wherever it stands, with a reason", () => {
    for (const sql of [
      "SELECT 1 - #p, (SELECT group_concat(v) FROM secrets) --\nx",
      "SELECT id, 1 - #p, email || '' --\nx FROM people",
      "SELECT id FROM canary WHERE id = #p",
      "SELECT id FROM canary #",
    ]) {
      expect({ sql, reason: sqlite.reason(sql) }).toEqual({ sql, reason: expect.stringMatching(hashRefused) });
    }
  });

  it("inside a string, a quoted name or a comment it is text", () => {
    expect(sqlite.reason("SELECT '#1' AS tag, id FROM canary")).toBeNull();
    expect(sqlite.reason('SELECT id AS "#" FROM canary')).toBeNull();
    expect(sqlite.reason("SELECT id FROM canary -- #1\n")).toBeNull();
    expect(sqlite.reason("SELECT id /* #1 */ FROM canary")).toBeNull();
  });

  it("MySQL keeps reading it as the comment it is there", () => {
    const mysql = new Policy(PolicyConfigSchema.parse({}), "mysql", "shop");
    expect(mysql.reason("SELECT id FROM canary # a comment")).toBeNull();
  });
});

describe("SQLite: what rode along after `#p` stays out of reach", () => {
  let driver: SqliteDriver;
  beforeAll(() => {
    driver = new SqliteDriver(makeSqliteFile(3));
  });
  afterAll(() => driver.close());

  it("neither a table outside the allow-list nor a masked column comes out", async () => {
    const { run } = harness(driver, cfg);
    // The parser read `SELECT 1 - x`; SQLite read `SELECT 1 - :p, (SELECT group_concat(name) FROM people) x`.
    const outside = harness(driver, { allow: { tables: ["canary"] } }).run;
    expect(await notRefused(outside, ["SELECT 1 - #p, (SELECT group_concat(name) FROM people) --\nx"])).toEqual([]);
    expect(await notRefused(run, ["SELECT id, 1 - #p, email || '' --\nx FROM people"])).toEqual([]);
    expect((await run({ sql: "SELECT id, email FROM people WHERE id = 1" })).rows).toEqual([[1, "****"]]);
  });
});
