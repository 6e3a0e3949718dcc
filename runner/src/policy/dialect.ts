/** node-sql-parser's dialect names and the defaults each database applies to unqualified table names. */
import type { DbKind } from "../../../lib/protocol/runner.ts";

export type Dialect = "postgresql" | "mysql" | "mariadb" | "sqlite" | "transactsql";

export const DIALECTS: Record<DbKind, Dialect> = {
  postgres: "postgresql",
  mysql: "mysql",
  mariadb: "mariadb",
  sqlite: "sqlite",
  mssql: "transactsql",
};

export const dialectOf = (kind: DbKind): Dialect => DIALECTS[kind];
