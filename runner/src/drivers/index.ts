/** Creates the driver for a database config. Drivers connect lazily, on first use. */
import { configError } from "../errors.ts";
import { MssqlDriver } from "./mssql.ts";
import { MysqlDriver } from "./mysql.ts";
import { PostgresDriver } from "./postgres.ts";
import { SqliteDriver } from "./sqlite.ts";
import type { DatabaseConfig, Driver } from "./types.ts";

export function createDriver(db: DatabaseConfig): Driver {
  if (db.kind === "sqlite") {
    if (!db.path) throw configError("database.path is required for sqlite");
    return new SqliteDriver(db.path);
  }
  if (!db.url) throw configError(`database.url (or database.urlEnv) is required for ${db.kind}`);
  switch (db.kind) {
    case "postgres":
      return new PostgresDriver(db.url);
    case "mysql":
    case "mariadb":
      return new MysqlDriver(db.url, db.kind);
    case "mssql":
      return new MssqlDriver(db.url);
  }
}

export type { Driver, QueryStream, QueryOptions, DatabaseConfig } from "./types.ts";
