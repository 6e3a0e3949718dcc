/** Builds the runner's parts from a resolved config; shared by `start`, `doctor` and the bench. */
import type { ResolvedConfig } from "./config/load.ts";
import { createDriver, type Driver } from "./drivers/index.ts";
import { createLogger, type Logger } from "./log.ts";
import { fileAuditLog, noAudit, Policy, type AuditLog } from "./policy/index.ts";

export interface Runtime {
  driver: Driver;
  policy: Policy;
  audit: AuditLog;
  log: Logger;
}

export async function createRuntime(config: ResolvedConfig, log = createLogger("runner", { level: config.log.level })): Promise<Runtime> {
  const driver = await createDriver(config.db, config.connection.maxConcurrent);
  const policy = new Policy(config.policy, driver.kind, driver.defaultSchema);
  const audit = config.policy.auditLog ? fileAuditLog(config.policy.auditLog) : noAudit;
  return { driver, policy, audit, log };
}
