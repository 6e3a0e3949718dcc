import { z } from "zod";
import { envInt, envLogLevel, loadSettings } from "../../lib/config.js";

/** The hub's limits. A query may ask for less than these, never more; the runner's own policy may lower them again. */
export const HubSettingsSchema = z.object({
  CIO_LOG_LEVEL: envLogLevel(),
  /** K: rows chunks a runner may have unacknowledged per query. */
  CIO_RUNNER_CREDITS: envInt(8, 1, 1024),
  /** How often runners ping; a runner silent for three intervals is dropped. */
  CIO_RUNNER_HEARTBEAT_MS: envInt(15_000, 1000, 300_000),
  CIO_RUNNER_TIMEOUT_MS: envInt(30_000, 100, 600_000),
  CIO_RUNNER_MAX_ROWS: envInt(10_000, 1, 10_000_000),
  /** Bytes of row JSON a buffered query may hold in the object (128 MB is the object's whole memory). */
  CIO_RUNNER_MAX_BYTES: envInt(16 * 1024 * 1024, 1024, 64 * 1024 * 1024),
  /** Extra time the hub waits after the query timeout for the runner's own timeout error. */
  CIO_RUNNER_TIMEOUT_GRACE_MS: envInt(2000, 0, 60_000),
});
export type HubSettings = z.infer<typeof HubSettingsSchema>;
export const hubSettings = (env: object) => loadSettings(HubSettingsSchema, env);
