import { z } from "zod";
import { envInt, loadSettings } from "../../../../../lib/config.js";

export const SqlToolSettingsSchema = z.object({
  /** Rows the tool puts in its answer; a larger result is summarised and stored whole in R2. */
  CIO_SQL_INLINE_ROWS: envInt(20, 1, 1000),
  /** Rows the tool asks the runner for (the hub and the runner's policy may lower it). */
  CIO_SQL_MAX_ROWS: envInt(10_000, 1, 1_000_000),
  CIO_SQL_TIMEOUT_MS: envInt(30_000, 100, 300_000),
  /** Tables of the runner's schema shown to the model when it writes SQL (the rest are named only). */
  CIO_SQL_SCHEMA_TABLES: envInt(60, 1, 1000),
  /** A result the tool stored in R2 (GET /v1/query-results/{id}) is deleted by the hourly cron this long after it was written; 0 keeps them. */
  CIO_QUERY_RESULT_RETENTION_S: envInt(2_592_000, 0),
  /** Stored query results past their retention deleted per hourly sweep at most; the rest wait for the next. */
  CIO_QUERY_RESULTS_SWEEP_MAX: envInt(5_000, 1, 100_000),
});
export type SqlToolSettings = z.infer<typeof SqlToolSettingsSchema>;
export const sqlToolSettings = (env: object) => loadSettings(SqlToolSettingsSchema, env);
