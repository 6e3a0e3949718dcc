/** A throw-away SQLite file with a canary table and a `people` table of `rows` rows. */
import { mkdtempSync } from "node:fs";
import { DatabaseSync } from "node:sqlite";
import { tmpdir } from "node:os";
import { join } from "node:path";

export function makeSqliteFile(rows = 5000): string {
  const path = join(mkdtempSync(join(tmpdir(), "cio-sqlite-")), "data.db");
  const db = new DatabaseSync(path);
  db.exec("CREATE TABLE canary (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO canary VALUES (1, 'a'), (2, 'b'), (3, 'c');");
  db.exec("CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT, email TEXT, photo BLOB)");
  const insert = db.prepare("INSERT INTO people VALUES (?, ?, ?, ?)");
  db.exec("BEGIN");
  for (let i = 1; i <= rows; i++) insert.run(i, `person ${i}`, `p${i}@example.com`, i === 1 ? Buffer.from("hi") : null);
  db.exec("COMMIT");
  db.close();
  return path;
}
