import { defineCommand } from "citty";
import type { SchemaTable } from "../../../lib/protocol/runner.ts";
import { helloFrame, readSchema } from "../client/hello.ts";
import { loadConfig, type ResolvedConfig } from "../config/load.ts";
import { configError, messageOf } from "../errors.ts";
import { silentLogger } from "../log.ts";
import type { Policy } from "../policy/index.ts";
import { createRuntime, type Runtime } from "../runtime.ts";
import { RUNNER_VERSION } from "../version.ts";
import { configArg, out } from "./_args.ts";
import { auditCheck } from "./_audit-log.ts";
import { cloudCheck, type Check } from "./_cloud-check.ts";

export default defineCommand({
  meta: { name: "doctor", description: "Check the config, the policy, the database and the cloud endpoint" },
  args: {
    ...configArg,
    timeout: { type: "string", description: "Milliseconds to wait for the database and the cloud", default: "5000" },
  },
  async run({ args }) {
    const timeoutMs = Number(args.timeout) || 5000;
    const checks = await runChecks(args.config, timeoutMs);
    out.print(`cio-runner ${RUNNER_VERSION} doctor`);
    for (const c of checks) out.print(`${c.ok ? "  ok  " : "  FAIL"} ${c.name.padEnd(9)} ${c.detail}`);
    const failed = checks.filter((c) => !c.ok);
    if (failed.length) throw configError(`doctor found ${failed.length} problem(s): ${failed.map((c) => c.name).join(", ")}`);
    out.print("All checks passed.");
  },
});

export async function runChecks(path: string, timeoutMs: number): Promise<Check[]> {
  let config: ResolvedConfig;
  try {
    config = loadConfig(path);
  } catch (err) {
    return [{ name: "config", ok: false, detail: messageOf(err) }];
  }
  const checks: Check[] = [{ name: "config", ok: true, detail: `${path} (runner "${config.runner.name}")` }];
  // Doctor appends no audit line: its own check opens the log, and reports what the runtime would throw.
  const { driver, policy } = await createRuntime({ ...config, policy: { ...config.policy, auditLog: undefined } }, silentLogger());
  // The database first: the policy learns the default schema's functions there, which named queries may call.
  const db = await databaseCheck(config, driver, policy, timeoutMs);
  const problems = policy.problems();
  checks.push({
    name: "policy",
    ok: problems.length === 0,
    detail: problems.length ? problems.join("; ") : policySummary(config),
  });
  checks.push(auditCheck(config.policy.auditLog), db.check);
  await driver.close().catch(() => {});
  // The hello start would send (the schema as the policy shows it, if the database answered): the hub keeps
  // a runner's last hello for its status, so an empty one would show no tables until the runner reconnects.
  const src = { runnerName: config.runner.name, driver, policy, maxConcurrent: config.connection.maxConcurrent };
  checks.push(await cloudCheck(config.cloud.url, config.token, helloFrame(src, db.tables, silentLogger()), timeoutMs));
  return checks;
}

function policySummary(c: ResolvedConfig): string {
  const p = c.policy;
  const allow = p.allow ? "allow-list on" : "no allow-list";
  return `valid: ${p.namedOnly ? "named queries only" : "ad-hoc SELECT allowed"}, ${p.namedQueries.length} named, ${allow}, maxRows ${p.maxRows}, timeout ${p.timeoutMs} ms`;
}

async function databaseCheck(c: ResolvedConfig, driver: Runtime["driver"], policy: Policy, timeoutMs: number): Promise<{ check: Check; tables: SchemaTable[] }> {
  try {
    const read = driver.ping().then(() => readSchema({ driver, policy }));
    const tables = await withTimeout(read, timeoutMs, "the database did not answer");
    return { check: { name: "database", ok: true, detail: `${c.db.kind}: connected, ${tables.length} table(s) visible under the policy` }, tables };
  } catch (err) {
    return { check: { name: "database", ok: false, detail: `${c.db.kind}: ${messageOf(err)}` }, tables: [] };
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(message)), ms);
    p.then((v) => (clearTimeout(t), resolve(v)), (e: unknown) => (clearTimeout(t), reject(e)));
  });
}
