/**
 * The orchestrator's cron triggers (wrangler.toml `[triggers]`): the hourly sweep of expired files here, the
 * trading scans and measurements in councils/scheduled.ts.
 */
import { sweepExpiredFiles } from "../../../lib/heavy/file-expiry.js";
import { Logger } from "../../../lib/log.js";
import { runCron } from "./councils/scheduled.js";
import type { OrchestratorEnv } from "./env.js";
import { orchestratorSettings } from "./settings.js";

export const FILES_SWEEP_CRON = "17 * * * *";

export async function runScheduled(env: OrchestratorEnv, cron: string): Promise<void> {
  if (cron !== FILES_SWEEP_CRON) return runCron(env, cron);
  const s = orchestratorSettings(env);
  const log = new Logger({ component: "files-sweep", requestId: `cron-${Date.now()}` }, s.CIO_LOG_LEVEL);
  await sweepExpiredFiles(env, log, s.CIO_FILES_SWEEP_MAX);
}
