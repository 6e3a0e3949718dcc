import { z } from "zod";
import { envInt, envLogLevel, loadSettings } from "../../lib/config.js";

const MiB = 1024 * 1024;

/** The hub's limits. A query may ask for less than these, never more; the runner's own policy may lower them again. */
export const HubSettingsSchema = z
  .object({
    CIO_LOG_LEVEL: envLogLevel(),
    /** K: rows chunks a runner may have unacknowledged per query. */
    CIO_RUNNER_CREDITS: envInt(8, 1, 1024),
    /** How often runners ping; a runner silent for three intervals is dropped. */
    CIO_RUNNER_HEARTBEAT_MS: envInt(15_000, 1000, 300_000),
    CIO_RUNNER_TIMEOUT_MS: envInt(30_000, 100, 600_000),
    CIO_RUNNER_MAX_ROWS: envInt(10_000, 1, 10_000_000),
    /** Bytes of row JSON one buffered query may hold in the object; at most the buffer budget (8 MiB: three side by side). */
    CIO_RUNNER_MAX_BYTES: envInt(8 * MiB, 1024, 32 * MiB),
    /**
     * Bytes of rows all queries of one hub may hold at once: each reserves what it may hold while it runs (a
     * buffered query its max bytes, a stream its credits' frames), and one over the budget is refused as busy.
     * Parsed rows take 2-4× their JSON and 128 MB is the object's whole memory, so a few concurrent wide
     * queries, or streams whose readers are slow, could otherwise reset it (and drop every runner).
     */
    CIO_RUNNER_BUFFER_BUDGET_BYTES: envInt(24 * MiB, MiB, 32 * MiB),
    /**
     * Most bytes of one rows frame (told to runners in hello-ack; a larger frame fails its query), so the
     * widest row a query can return. A stream holds up to K of them until its reader takes them: it reserves
     * K × this, and gets fewer credits while the budget has less room.
     */
    CIO_RUNNER_FRAME_BYTES: envInt(MiB, 64 * 1024, 16 * MiB),
    /** Extra time the hub waits after the query timeout for the runner's own timeout error. */
    CIO_RUNNER_TIMEOUT_GRACE_MS: envInt(2000, 0, 60_000),
  })
  .refine((s) => s.CIO_RUNNER_MAX_BYTES <= s.CIO_RUNNER_BUFFER_BUDGET_BYTES, {
    message: "CIO_RUNNER_MAX_BYTES must not exceed CIO_RUNNER_BUFFER_BUDGET_BYTES (one buffered query could never run)",
    path: ["CIO_RUNNER_MAX_BYTES"],
  })
  .refine((s) => s.CIO_RUNNER_FRAME_BYTES <= s.CIO_RUNNER_BUFFER_BUDGET_BYTES, {
    message: "CIO_RUNNER_FRAME_BYTES must not exceed CIO_RUNNER_BUFFER_BUDGET_BYTES (no stream could ever run)",
    path: ["CIO_RUNNER_FRAME_BYTES"],
  });
export type HubSettings = z.infer<typeof HubSettingsSchema>;
export const hubSettings = (env: object) => loadSettings(HubSettingsSchema, env);
