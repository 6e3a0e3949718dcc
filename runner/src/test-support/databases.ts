/**
 * Test databases. URLs come from CIO_TEST_PG_URL / CIO_TEST_MYSQL_URL; each suite makes its own database
 * and data. An unreachable server skips the suite with a warning outside CI and fails it in CI.
 */
import mysql from "mysql2/promise";
import pg from "pg";

export const PG_URL = process.env.CIO_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
export const MYSQL_URL = process.env.CIO_TEST_MYSQL_URL ?? "mysql://root@127.0.0.1:3306/test";
const TEST_DB = "cio_runner_test";

const withDatabase = (url: string, db: string) => {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
};

/** True when the suite must be skipped; throws in CI so a missing server cannot pass silently. */
export function unavailable(name: string, reason: string | null): boolean {
  if (reason === null) return false;
  if (process.env.CI === "true") throw new Error(`${name} unreachable (${reason}): CI requires it`);
  console.warn(`${name} unreachable (${reason}): skipping its tests`);
  return true;
}

/** Creates the test database if needed and returns its URL, or the reason the server cannot be used. */
export async function preparePostgres(): Promise<{ url: string } | { reason: string }> {
  const admin = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
  try {
    await admin.connect();
    const { rowCount } = await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [TEST_DB]);
    if (!rowCount) await admin.query(`CREATE DATABASE ${TEST_DB}`);
    return { url: withDatabase(PG_URL, TEST_DB) };
  } catch (err) {
    return { reason: err instanceof Error ? err.message || String(err) : String(err) };
  } finally {
    await admin.end().catch(() => {});
  }
}

export async function prepareMysql(): Promise<{ url: string } | { reason: string }> {
  try {
    const admin = await mysql.createConnection({ uri: withDatabase(MYSQL_URL, ""), connectTimeout: 3000 });
    await admin.query(`CREATE DATABASE IF NOT EXISTS ${TEST_DB}`);
    await admin.end();
    return { url: withDatabase(MYSQL_URL, TEST_DB) };
  } catch (err) {
    return { reason: err instanceof Error ? err.message || String(err) : String(err) };
  }
}

export const CANARY_ROWS = [
  [1, "a"],
  [2, "b"],
  [3, "c"],
] as const;
