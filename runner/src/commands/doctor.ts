import { defineCommand } from "citty";
import WebSocket from "ws";
import { connectUrl } from "../client/connection.ts";
import { loadConfig, type ResolvedConfig } from "../config/load.ts";
import { configError, messageOf } from "../errors.ts";
import { silentLogger } from "../log.ts";
import { createRuntime } from "../runtime.ts";
import { RUNNER_VERSION } from "../version.ts";
import { configArg, out } from "./_args.ts";

interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

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
  const { driver, policy } = await createRuntime(config, silentLogger());
  const problems = policy.problems();
  checks.push({
    name: "policy",
    ok: problems.length === 0,
    detail: problems.length ? problems.join("; ") : policySummary(config),
  });
  checks.push(await databaseCheck(config, () => driver.ping().then(() => driver.schema()), timeoutMs, (n) => policy.visibleSchema(n).length));
  await driver.close().catch(() => {});
  checks.push(await cloudCheck(config, timeoutMs));
  return checks;
}

function policySummary(c: ResolvedConfig): string {
  const p = c.policy;
  const allow = p.allow ? "allow-list on" : "no allow-list";
  return `valid: ${p.namedOnly ? "named queries only" : "ad-hoc SELECT allowed"}, ${p.namedQueries.length} named, ${allow}, maxRows ${p.maxRows}, timeout ${p.timeoutMs} ms`;
}

async function databaseCheck<T>(c: ResolvedConfig, probe: () => Promise<T[]>, timeoutMs: number, visible: (t: T[]) => number): Promise<Check> {
  try {
    const tables = await withTimeout(probe(), timeoutMs, "the database did not answer");
    return { name: "database", ok: true, detail: `${c.db.kind}: connected, ${visible(tables)} table(s) visible under the policy` };
  } catch (err) {
    return { name: "database", ok: false, detail: `${c.db.kind}: ${messageOf(err)}` };
  }
}

/** Opens the runner WebSocket with the token and closes it at once: proves the endpoint answers and accepts us. */
function cloudCheck(c: ResolvedConfig, timeoutMs: number): Promise<Check> {
  const url = connectUrl(c.cloud.url);
  return new Promise((resolve) => {
    const done = (ok: boolean, detail: string) => {
      clearTimeout(timer);
      ws.removeAllListeners();
      ws.on("error", () => {});
      ws.terminate();
      resolve({ name: "cloud", ok, detail: `${url}: ${detail}` });
    };
    const ws = new WebSocket(url, { headers: { Authorization: `Bearer ${c.token}` }, handshakeTimeout: timeoutMs });
    const timer = setTimeout(() => done(false, `no answer within ${timeoutMs} ms`), timeoutMs);
    ws.on("open", () => done(true, "answered and accepted the runner token"));
    ws.on("unexpected-response", (_req, res) =>
      done(false, res.statusCode === 401 || res.statusCode === 403 ? `the runner token was refused (HTTP ${res.statusCode})` : `HTTP ${res.statusCode} instead of a WebSocket upgrade`),
    );
    ws.on("error", (err) => done(false, messageOf(err)));
  });
}

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(message)), ms);
    p.then((v) => (clearTimeout(t), resolve(v)), (e: unknown) => (clearTimeout(t), reject(e)));
  });
}
