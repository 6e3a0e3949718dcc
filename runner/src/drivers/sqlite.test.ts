import { mkdtempSync, readFileSync } from "node:fs";
import { DatabaseSync } from "node:sqlite";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RunnerError } from "../errors.ts";
import { fileAuditLog } from "../policy/audit.ts";
import { harness, notRefused, recordFetches } from "../test-support/harness.ts";
import { makeSqliteFile } from "../test-support/sqlite-file.ts";
import { SqliteDriver } from "./sqlite.ts";

describe("SQLite driver", () => {
  let path: string;
  let driver: SqliteDriver;
  beforeAll(() => {
    path = makeSqliteFile();
    driver = new SqliteDriver(path);
  });
  afterAll(() => driver.close());

  it("streams rows in batches", async () => {
    const { driver: counted, fetches } = recordFetches(driver);
    const o = await harness(counted, {}, { chunkRows: 1000 }).run({ sql: "SELECT id, name, photo FROM people ORDER BY id" });
    expect(o.columns).toEqual(["id", "name", "photo"]);
    expect(o.rows).toHaveLength(5000);
    expect(o.rows[0]).toEqual([1, "person 1", "\\x6869"]);
    expect(fetches).toEqual([16, 32, 64, 128, 256, 512, 1000, 1000, 1000, 992]); // from 16 rows, doubling to chunkRows
    expect(o.done).toMatchObject({ rowCount: 5000, truncated: false });
  });

  it("fetches wide rows a few at a time, as many as the bytes still allowed hold", async () => {
    // 1 MB allowed, 100 kB rows, chunkRows 500: 500 rows (50 MB) were fetched at once before any was counted.
    const { o, pulled } = await runCounting(Array.from({ length: 300 }, () => "x".repeat(100_000)), 1_000_000);
    expect(o.done).toMatchObject({ truncated: true, truncatedBy: "maxBytes" });
    expect(o.rows.length).toBe(9);
    expect(pulled).toBeLessThanOrEqual(16 + 1);
  });

  it("rows that widen after narrow first ones are not fetched hundreds at once: fetches grow from 16, doubling", async () => {
    // After 16 one-byte rows, the next fetch was sized by them: 500 rows of 100 kB for a 2 MB limit.
    const { o, pulled } = await runCounting(Array.from({ length: 216 }, (_, i) => (i < 16 ? "x" : "x".repeat(100_000))), 2_000_000);
    expect(o.done).toMatchObject({ truncated: true, truncatedBy: "maxBytes" });
    expect(pulled).toBeLessThanOrEqual(16 + 32);
  });

  it("runs overlapping queries side by side, each with its full result", async () => {
    // The first query streams 50 batches, yielding between them, so the others open while it is mid-stream.
    // The driver is opened first: queries racing to open a driver's first connection would not share one.
    await driver.ping();
    const { run } = harness(driver);
    const [asc, desc, canary] = await Promise.all([
      run({ sql: "SELECT id FROM people ORDER BY id" }),
      run({ sql: "SELECT id FROM people ORDER BY id DESC" }),
      run({ sql: "SELECT id FROM canary ORDER BY id" }),
    ]);
    for (const o of [asc, desc, canary]) expect(o.error).toBeUndefined();
    expect(asc.rows.map((r) => r[0])).toEqual(Array.from({ length: 5000 }, (_, i) => i + 1));
    expect(desc.rows.map((r) => r[0])).toEqual(Array.from({ length: 5000 }, (_, i) => 5000 - i));
    expect(canary.rows).toEqual([[1], [2], [3]]);
  });

  it("reads integers past 2^53 as decimal strings instead of failing the query", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "cio-sqlite-")), "big.db");
    const db = new DatabaseSync(file);
    db.exec("CREATE TABLE big (v INTEGER); INSERT INTO big VALUES (9007199254740993), (42), (-9007199254740993), (1.5)");
    db.close();
    const big = new SqliteDriver(file);
    try {
      const o = await harness(big).run({ sql: "SELECT v FROM big ORDER BY rowid" });
      expect(o.error).toBeUndefined();
      expect(o.rows).toEqual([["9007199254740993"], [42], ["-9007199254740993"], [1.5]]);
    } finally {
      await big.close();
    }
  });

  it("reads an infinite REAL as the string PostgreSQL prints, not as null (SQL NULL)", async () => {
    const o = await harness(driver).run({ sql: "SELECT 1e999, -1e999, NULL, 2.5" });
    expect(o.error).toBeUndefined();
    expect(o.rows).toEqual([["Infinity", "-Infinity", null, 2.5]]);
  });

  it("binds positional params and masks listed columns", async () => {
    const o = await harness(driver, { maskColumns: ["email"] }).run({ sql: "SELECT id, email FROM people WHERE id = ?", params: [7] });
    expect(o.rows).toEqual([[7, "****"]]);
  });

  it("a masked column neither comes out under another name (COLLATE) nor answers guesses (NATURAL JOIN)", async () => {
    const { run } = harness(driver, { maskColumns: ["email"] });
    const leaks = [
      "SELECT email COLLATE nocase FROM people WHERE id = 1", // named by its text, "email COLLATE nocase"
      "SELECT id FROM people NATURAL JOIN (SELECT 'p1@example.com' AS email) g", // a row or none, as the guess is right or wrong
    ];
    expect(await notRefused(run, leaks)).toEqual([]);
  });

  it("a table outside the allow-list stays out of reach behind a CTE of its name", async () => {
    const { run } = harness(driver, { allow: { tables: ["canary"] } });
    const leaks = ["SELECT * FROM people", "SELECT * FROM people WHERE EXISTS (WITH people AS (SELECT 1) SELECT 1 FROM people)"];
    expect(await notRefused(run, leaks)).toEqual([]);
  });

  it("shows the schema", async () => {
    const tables = await driver.schema();
    expect(tables.map((t) => t.name)).toEqual(["canary", "people"]);
  });

  it("opens the file read-only, so writes fail even without the parser", async () => {
    const signal = new AbortController().signal;
    for (const sql of ["DELETE FROM canary", "INSERT INTO canary VALUES (9, 'x')", "CREATE TABLE evil (x)"]) {
      await expect(driver.open(sql, [], { timeoutMs: 1000, batchRows: 10, signal })).rejects.toBeInstanceOf(RunnerError);
    }
    const o = await harness(driver).run({ sql: "SELECT count(*) FROM canary" });
    expect(o.rows).toEqual([[3]]);
  });

  it("writes every request and its outcome to the audit log", async () => {
    const log = join(mkdtempSync(join(tmpdir(), "cio-audit-")), "audit.jsonl");
    const { run } = harness(driver, {}, { audit: fileAuditLog(log) });
    await run({ id: "a1", sql: "SELECT id FROM canary" });
    await run({ id: "a2", sql: "DROP TABLE canary" });
    const lines = readFileSync(log, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => [l.id, l.event])).toEqual([["a1", "request"], ["a1", "done"], ["a2", "request"], ["a2", "refused"]]);
    expect(lines[1]).toMatchObject({ rowCount: 3, truncated: false });
    expect(lines[3]).toMatchObject({ code: "policy_denied", reason: expect.stringMatching(/not DROP/) });
  });

  it("a missing file is a clear error", async () => {
    const missing = new SqliteDriver("/nonexistent/dir/data.db");
    const o = await harness(missing).run({ sql: "SELECT 1" });
    expect(o.error).toMatchObject({ code: "db_unavailable" });
  });
});

/** Runs `SELECT body FROM docs` over a new file holding `bodies`, chunkRows 500, counting the rows the driver hands out. */
async function runCounting(bodies: string[], maxBytes: number) {
  const file = join(mkdtempSync(join(tmpdir(), "cio-wide-")), "wide.db");
  const db = new DatabaseSync(file);
  db.exec("CREATE TABLE docs (id INTEGER PRIMARY KEY, body TEXT)");
  const insert = db.prepare("INSERT INTO docs (body) VALUES (?)");
  for (const b of bodies) insert.run(b);
  db.close();
  const d = new SqliteDriver(file);
  let pulled = 0;
  const counting = Object.assign(Object.create(d) as SqliteDriver, {
    open: async (...a: Parameters<SqliteDriver["open"]>) => {
      const s = await d.open(...a);
      return { ...s, columns: s.columns, next: async (n?: number) => ((r) => ((pulled += r?.length ?? 0), r))(await s.next(n)) };
    },
  });
  try {
    const o = await harness(counting, {}, { chunkRows: 500 }).run({ sql: "SELECT body FROM docs ORDER BY id", maxBytes });
    return { o, pulled };
  } finally {
    d.close();
  }
}
