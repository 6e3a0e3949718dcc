/**
 * Creates the driver for a database config. Drivers connect lazily, on first use, and each driver's npm
 * package is imported only when its kind is configured: mssql and mysql2 alone add about 30 MB to a
 * runner's resident memory, which a PostgreSQL runner should not carry.
 */
import { configError } from "../errors.ts";
import type { DatabaseConfig, Driver } from "./types.ts";

/**
 * Connections a pooled driver may open: one per query the runner runs at once (`maxConcurrent`), plus one so
 * a cancel (PostgreSQL's pg_cancel_backend, MySQL's KILL QUERY) and the schema or ping queries never wait
 * behind the very queries they are meant to stop. A fixed pool of 10 under maxConcurrent 12 left cancels
 * queued until a statement timeout freed a connection.
 */
export const poolSizeFor = (maxConcurrent: number) => maxConcurrent + 1;

export async function createDriver(db: DatabaseConfig, maxConcurrent: number): Promise<Driver> {
  const poolSize = poolSizeFor(maxConcurrent);
  if (db.kind === "sqlite") {
    if (!db.path) throw configError("database.path is required for sqlite");
    const { SqliteDriver } = await import("./sqlite.ts");
    return new SqliteDriver(db.path);
  }
  if (!db.url) throw configError(`database.url (or database.urlEnv) is required for ${db.kind}`);
  switch (db.kind) {
    case "postgres":
      return new (await import("./postgres.ts")).PostgresDriver(db.url, poolSize);
    case "mysql":
    case "mariadb":
      return new (await import("./mysql.ts")).MysqlDriver(db.url, db.kind, poolSize);
    case "mssql":
      return new (await import("./mssql.ts")).MssqlDriver(db.url, poolSize);
  }
}

export type { Driver, QueryStream, QueryOptions, DatabaseConfig } from "./types.ts";
