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
});
export type SqlToolSettings = z.infer<typeof SqlToolSettingsSchema>;
export const sqlToolSettings = (env: object) => loadSettings(SqlToolSettingsSchema, env);
