/**
 * The orchestrator's cron triggers (wrangler.toml `[triggers]`): the hourly housekeeping here (expired files,
 * lost tasks, tasks past their retention, deleted rows kept as list cursors, expired agent continuations, tool
 * calls and ratings past their retention, stored query results past theirs), the trading scans and
 * measurements in councils/scheduled.ts.
 */
import { forgetDeletedRows } from "../../../lib/db/deleted-rows.js";
import { deleteOlderRows } from "../../../lib/db/older-rows.js";
import { sweepExpiredFiles } from "../../../lib/heavy/file-expiry.js";
import { failLostTasks } from "../../../lib/heavy/lost-tasks.js";
import { sweepOldTasks } from "../../../lib/heavy/task-retention.js";
import { Logger } from "../../../lib/log.js";
import { runCron } from "./councils/scheduled.js";
import { sweepQueryResults } from "./tools/sql/result-retention.js";
import { sqlToolSettings } from "./tools/sql/settings.js";
import type { OrchestratorEnv } from "./env.js";
import { orchestratorSettings } from "./settings.js";

export const HOUSEKEEPING_CRON = "17 * * * *";

export async function runScheduled(env: OrchestratorEnv, cron: string): Promise<void> {
  if (cron !== HOUSEKEEPING_CRON) return runCron(env, cron);
  const s = orchestratorSettings(env);
  const sql = sqlToolSettings(env);
  const log = new Logger({ component: "housekeeping", requestId: `cron-${Date.now()}` }, s.CIO_LOG_LEVEL);
  // Each step runs whatever the other did; a failure is logged and fails the run, so the dashboard shows it.
  const steps = await Promise.allSettled([
    sweepExpiredFiles(env, log, s.CIO_FILES_SWEEP_MAX),
    failLostTasks(env, log, s.CIO_TASK_LOST_AFTER_S * 1000),
    s.CIO_TASK_RETENTION_S ? sweepOldTasks(env, log, s.CIO_TASK_RETENTION_S * 1000, s.CIO_TASKS_SWEEP_MAX) : 0,
    forgetDeletedRows(env.DB, log, Date.now() - s.CIO_DELETED_CURSOR_TTL_S * 1000),
    // Only pruned when the same tenant keeps another turn (agent/continuation.ts): a tenant that stops never is.
    deleteOlderRows(env.DB, log, "agent_continuations", Date.now() - s.CIO_CONTINUATION_TTL_MS, s.CIO_ROWS_SWEEP_MAX),
    ...(["tool_calls", "tool_feedback"] as const).map((table) =>
      s.CIO_LEARNING_RETENTION_S ? deleteOlderRows(env.DB, log, table, Date.now() - s.CIO_LEARNING_RETENTION_S * 1000, s.CIO_ROWS_SWEEP_MAX) : 0,
    ),
    sql.CIO_QUERY_RESULT_RETENTION_S ? sweepQueryResults(env.FILES, log, sql.CIO_QUERY_RESULT_RETENTION_S * 1000, sql.CIO_QUERY_RESULTS_SWEEP_MAX) : 0,
  ]);
  const failed = steps.flatMap((r) => (r.status === "rejected" ? [r.reason] : []));
  for (const err of failed) log.error("housekeeping step failed", { err });
  if (failed.length) throw new AggregateError(failed, "housekeeping failed");
}
