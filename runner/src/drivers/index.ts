/**
 * Creates the driver for a database config. Drivers connect lazily, on first use, and each driver's npm
 * package is imported only when its kind is configured: mssql and mysql2 alone add about 30 MB to a
 * runner's resident memory, which a PostgreSQL runner should not carry.
 */
import { configError } from "../errors.ts";
import type { DatabaseConfig, Driver } from "./types.ts";

export async function createDriver(db: DatabaseConfig): Promise<Driver> {
  if (db.kind === "sqlite") {
    if (!db.path) throw configError("database.path is required for sqlite");
    const { SqliteDriver } = await import("./sqlite.ts");
    return new SqliteDriver(db.path);
  }
  if (!db.url) throw configError(`database.url (or database.urlEnv) is required for ${db.kind}`);
  switch (db.kind) {
    case "postgres":
      return new (await import("./postgres.ts")).PostgresDriver(db.url);
    case "mysql":
    case "mariadb":
      return new (await import("./mysql.ts")).MysqlDriver(db.url, db.kind);
    case "mssql":
      return new (await import("./mssql.ts")).MssqlDriver(db.url);
  }
}

export type { Driver, QueryStream, QueryOptions, DatabaseConfig } from "./types.ts";
