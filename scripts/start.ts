/**
 * `npm start`: the whole stack on one port, offline, with no Cloudflare account. Takes the state folder
 * (CIO_STATE_DIR) for itself, refusing it while another `npm start` runs on it (lib/state-lock.ts). Applies the D1
 * migrations, makes sure a dev tenant and key exist, runs every Worker, Durable Object and queue in one
 * `wrangler dev --local`, and prints the URL, the key and a curl example once the gateway answers. If the stack
 * is not healthy within CIO_START_TIMEOUT_S (150 s), it stops wrangler and all it started and exits with 1.
 */
import { spawn, type ChildProcess } from "node:child_process";
import {
  ROOT,
  WRANGLER,
  applyMigrations,
  devCredentials,
  ensureDevTenant,
  loadDotEnv,
  parsePort,
  portIsFree,
  skippedConfigs,
  startConfigs,
  stateDir,
  toolEnv,
  workerConfigs,
  writeDevVars,
} from "./lib/local-stack.ts";
import { lockStateDir } from "./lib/state-lock.ts";

loadDotEnv();
const port = portOrExit(process.env.PORT);
// Before anything starts: a stack already on this port would answer the health check below as if it were ours.
if (!(await portIsFree(port))) exitWith(`Port ${port} is already in use on 127.0.0.1 (a stack from an earlier \`npm start\`?): stop it, or set PORT to a free port.`);
/** How long the stack may take to answer /health/deep before it counts as failed (and is stopped). */
const readyWaitS = Number(process.env.CIO_START_TIMEOUT_S || 150);
if (!(readyWaitS >= 0)) throw new Error(`CIO_START_TIMEOUT_S must be a number of seconds, not ${process.env.CIO_START_TIMEOUT_S}`);
const STOP_GRACE_MS = 5000;
const state = stateDir();
// Before anything is written there: another start's workerd may be using the same D1 and Durable Object files.
const unlockState = orExit(() => lockStateDir(state));
let child: ChildProcess | undefined;
let exitCode: number | undefined;
// However this script ends (stopped, failed, an uncaught error), the folder is given back and the stack stops.
process.on("exit", () => {
  signalStack("SIGKILL");
  unlockState();
});
// Stopped before wrangler runs, there is nothing to stop but this script; after, stop() stops the stack. The group
// has its own session, so a closed terminal's SIGHUP no longer reaches it: it is passed on too.
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(sig, () => (child ? stop(0, "stopping") : process.exit(130)));
// A bad CIO_DEV_KEY, a broken dev-credentials.json or a setting .dev.vars cannot carry: its message, nothing started.
const creds = orExit(() => devCredentials(state));
orExit(() => writeDevVars(creds));

log("applying D1 migrations");
applyMigrations(state);
ensureDevTenant(state, creds);

const args = ["dev", "--local", "--port", String(port), "--ip", "127.0.0.1", "--persist-to", state, "--show-interactive-dev-session=false"];
const configs = startConfigs();
for (const c of configs) args.push("-c", c);
// detached: wrangler leads a process group of its own with everything it starts (workerd, esbuild), so
// stopping the group stops them all, and nothing outlives this script to hold the port.
child = spawn(WRANGLER, args, { cwd: ROOT, stdio: ["ignore", "inherit", "inherit"], env: toolEnv(), detached: true });
log(`starting ${configs.length} Workers (wrangler process group ${child.pid})`);
for (const c of configs.filter((c) => !workerConfigs().includes(c))) log(`running ${c}: CLOUDFLARE_API_TOKEN is set, so with the bindings a deployment gets (Workers AI, the media tool)`);
for (const c of skippedConfigs()) log(`not starting ${c}: Workers AI needs CLOUDFLARE_API_TOKEN, even locally`);
child.on("error", (err) => {
  console.error(`could not run wrangler: ${err.message}`);
  process.exit(1);
});
child.on("exit", (code) => process.exit(exitCode ?? code ?? 1));

const url = `http://127.0.0.1:${port}`;
if (await waitUntilReady(url, Date.now() + readyWaitS * 1000)) printBanner(url);
else if (exitCode === undefined) {
  console.error(`The local stack did not become healthy within ${readyWaitS} s (${url}/health/deep); stopping it. wrangler's output is above; CIO_START_TIMEOUT_S sets the wait.`);
  stop(1, "stopping after the failed start");
}

function portOrExit(value: string | undefined): number {
  return orExit(() => parsePort(value));
}

/** What `f` returns, or its error's message alone and exit 1 (for checks of the settings, before starting). */
function orExit<T>(f: () => T): T {
  try {
    return f();
  } catch (err) {
    return exitWith((err as Error).message);
  }
}

/** A setting that makes starting pointless: its message alone (no stack trace), before anything was started. */
function exitWith(msg: string): never {
  console.error(msg);
  process.exit(1);
}

/** SIGINT lets wrangler shut workerd down and flush local state; SIGKILL after a grace period if it hangs. */
function stop(code: number, msg: string) {
  if (exitCode !== undefined) return;
  exitCode = code;
  log(msg);
  signalStack("SIGINT");
  setTimeout(() => signalStack("SIGKILL"), STOP_GRACE_MS).unref();
}

function signalStack(signal: NodeJS.Signals) {
  if (!child?.pid) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    /* the group is gone already */
  }
}

/** True once /health/deep answers 200; false if the deadline passes or the script is stopping first. */
async function waitUntilReady(base: string, deadline: number): Promise<boolean> {
  while (exitCode === undefined && Date.now() < deadline) {
    try {
      const r = await fetch(`${base}/health/deep`, { signal: AbortSignal.timeout(Math.max(1, deadline - Date.now())) });
      if (r.ok) return exitCode === undefined;
    } catch {
      /* not listening yet, or the attempt ran out of time */
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

function printBanner(url: string) {
  console.log(`
CIO Edge is running at ${url}
  API key:      ${creds.apiKey}
  Admin token:  ${creds.adminToken}
  API docs:     ${url}/docs

  curl ${url}/v1/chat/completions \\
    -H "Authorization: Bearer ${creds.apiKey}" -H "Content-Type: application/json" \\
    -d '{"model":"cio/auto","messages":[{"role":"user","content":"Hello!"}]}'

READY ${url}
`);
}

function log(msg: string) {
  console.log(JSON.stringify({ ts: new Date().toISOString(), level: "info", component: "start", msg }));
}
