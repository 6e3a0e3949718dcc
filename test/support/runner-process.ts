/**
 * Starts the real `cio-runner` (the built package, as a customer runs it) against a stack, and makes sure it
 * is stopped: every process started here is killed by `stop()` or, at the latest, when the test process exits.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "../..");
export const RUNNER_CLI = join(ROOT, "runner/dist/cli.js");
const live = new Set<ChildProcess>();
process.once("exit", () => live.forEach((c) => c.kill("SIGKILL")));

let built = false;
/** Builds runner/dist once per test process (about a second). */
export function buildRunner() {
  if (built) return;
  execFileSync(process.execPath, [join(ROOT, "runner/build.mjs")], { stdio: "ignore" });
  built = true;
}

export interface RunnerOptions {
  cloudUrl: string;
  token: string;
  name: string;
  db: { kind: "postgres" | "mysql" | "mariadb" | "sqlite"; url: string };
  /** Extra YAML under `policy:` (indented by the caller). */
  policyYaml?: string;
  connectionYaml?: string;
  /** Extra Node flags for the runner process (the bench passes --cpu-prof to profile it). */
  nodeArgs?: string[];
}

export interface RunnerProcess {
  child: ChildProcess;
  dir: string;
  output(): string;
  /** SIGTERM, then SIGKILL after 3 s; resolves when the process has exited. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export function startRunner(o: RunnerOptions): RunnerProcess {
  buildRunner();
  const dir = mkdtempSync(join(tmpdir(), "cio-runner-"));
  const config = join(dir, "runner.yaml");
  writeFileSync(
    config,
    `cloud:
  url: ${o.cloudUrl}
  tokenEnv: CIO_RUNNER_TOKEN
runner:
  name: ${o.name}
database:
  kind: ${o.db.kind}
  ${o.db.kind === "sqlite" ? `path: ${o.db.url}` : "urlEnv: CIO_RUNNER_DATABASE_URL"}
policy:
  auditLog: ${join(dir, "audit.jsonl")}
${o.policyYaml ?? ""}
connection:
  heartbeatMs: 2000
  backoff: { initialMs: 100, maxMs: 1000 }
${o.connectionYaml ?? ""}
log:
  level: info
`,
  );
  const child = spawn(process.execPath, [...(o.nodeArgs ?? []), RUNNER_CLI, "start", "-c", config], {
    env: { ...process.env, CIO_RUNNER_TOKEN: o.token, CIO_RUNNER_DATABASE_URL: o.db.url },
    stdio: ["ignore", "pipe", "pipe"],
  });
  live.add(child);
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  child.once("exit", () => live.delete(child));
  return {
    child,
    dir,
    output: () => out,
    stop: (signal = "SIGTERM") =>
      new Promise<void>((res) => {
        if (child.exitCode !== null || child.signalCode !== null) return res();
        child.once("exit", () => res());
        child.kill(signal);
        setTimeout(() => child.kill("SIGKILL"), 3000).unref();
      }),
  };
}
