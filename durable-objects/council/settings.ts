/**
 * Council and trading settings, validated once from the orchestrator's env (the objects share its
 * bindings and vars). Kept beside the object so every limit the council obeys is in one place.
 */
import { z } from "zod";
import { envInt, envList, envLogLevel, envNumber, envOptionalString, loadSettings } from "../../lib/config.js";

export const CouncilSettingsSchema = z.object({
  CIO_LOG_LEVEL: envLogLevel(),
  CIO_UPSTREAM_BASE_URL: envOptionalString(),
  CIO_UPSTREAM_MODELS: envList(),
  /** Model the assistants use unless they name one; default: the first passthrough model. */
  CIO_COUNCIL_MODEL: envOptionalString(),
  /** A step (one round's model calls) that has not finished by then is resumed by the object's alarm. */
  CIO_COUNCIL_STEP_TIMEOUT_MS: envInt(120_000, 1_000, 900_000),
  /** Attempts per assistant and round before it abstains; each attempt has the client's own retries. */
  CIO_COUNCIL_ASSISTANT_ATTEMPTS: envInt(3, 1, 10),
  CIO_COUNCIL_RETRY_DELAY_MS: envInt(1_000, 1, 60_000),
  /** Failed steps in a row (backing off from CIO_COUNCIL_RETRY_DELAY_MS) before one is given up: a running
   * council fails, visibly; a finished one stops owing its session notice. */
  CIO_COUNCIL_STEP_ATTEMPTS: envInt(6, 1, 20),
  /** Bounds of the learned track-record factor that multiplies an assistant's base weight. The floor's lowest
   * value, with MIN_WEIGHT, keeps every seat's weight a whole number of the units tally.ts counts in. */
  CIO_COUNCIL_WEIGHT_FLOOR: envNumber(0.25, 0.01, 1),
  CIO_COUNCIL_WEIGHT_CEILING: envNumber(2, 1, 10),
  /** How long `cio/council` waits for the next change of the council before asking again. */
  CIO_COUNCIL_WAIT_MS: envInt(20_000, 10, 120_000),
  /** Longest a `cio/council` answer follows its council; then it ends with an error (the council goes on). */
  CIO_COUNCIL_CHAT_DEADLINE_MS: envInt(600_000, 100, 3_600_000),
  /** Cap on a trading council's market-data calls. Its own name: CIO_TOOL_TIMEOUT_MS is the agent loop's, and
   * the objects share the orchestrator's vars, so one name had meant 30 s there and 8 s here. */
  CIO_COUNCIL_TOOL_TIMEOUT_MS: envInt(8_000, 100, 60_000),
  /** Tries to get a market price for a decided trading council's paper order (backing off from
   * CIO_COUNCIL_RETRY_DELAY_MS) before the order is rejected for want of one. */
  CIO_TRADING_PRICE_ATTEMPTS: envInt(8, 1, 30),
  /** Watch-list rows checked per cron run. */
  CIO_TRADING_SCAN_BATCH: envInt(200, 1, 5_000),
  /** Age of a trading decision before its outcome is measured. */
  CIO_TRADING_OUTCOME_HOURS: envNumber(24, 0, 24 * 30),
  /** A smaller move than this (percent) after a decision means HOLD was right. */
  CIO_TRADING_OUTCOME_MOVE_PCT: envNumber(1, 0, 100),
  /** Risk limits of a tenant that set none. */
  CIO_TRADING_MAX_POSITION: envNumber(10_000, 0, 1e12),
  CIO_TRADING_MAX_DAILY_LOSS: envNumber(500, 0, 1e12),
  CIO_TRADING_ORDER_NOTIONAL: envNumber(1_000, 0, 1e12),
});
export type CouncilSettings = z.infer<typeof CouncilSettingsSchema>;

export const councilSettings = (env: object) => loadSettings(CouncilSettingsSchema, env);
