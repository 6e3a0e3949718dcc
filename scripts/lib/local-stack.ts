/**
 * Shared by `npm start`, `npm run admin`, the end-to-end tests and the benchmarks: where the local stack
 * keeps its state, the dev credentials, and how to run wrangler with the pinned Node.
 */
import { createHash, randomBytes } from "node:crypto";
import { existsSync, globSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { spawnSync } from "node:child_process";
import { createServer } from "node:net";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const WRANGLER = join(ROOT, "node_modules/.bin/wrangler");
export const DEV_TENANT = "ten_dev";

/** wrangler needs Node 22: the pinned one in node_modules/.bin goes first, however this script was started. */
export const TOOL_ENV = { ...process.env, PATH: `${join(ROOT, "node_modules/.bin")}:${process.env.PATH ?? ""}`, WRANGLER_SEND_METRICS: "false" };

/**
 * The gateway first (it is served on the port), then the orchestrator, the tools and the queue consumers.
 * A Worker with an `[ai]` binding needs a Cloudflare account even under `wrangler dev --local`, so without
 * CLOUDFLARE_API_TOKEN it is left out (the orchestrator then reports that tool as unavailable).
 */
export function workerConfigs(): string[] {
  const tools = globSync("workers/tools/*/wrangler.toml", { cwd: ROOT }).sort();
  const queues = globSync("queues/*/wrangler.toml", { cwd: ROOT }).sort();
  return ["wrangler.toml", "workers/orchestrator/wrangler.toml", ...tools, ...queues].filter((c) => runsOffline(c));
}

export function skippedConfigs(): string[] {
  return globSync("workers/tools/*/wrangler.toml", { cwd: ROOT }).filter((c) => !runsOffline(c));
}

const runsOffline = (config: string) =>
  Boolean(process.env.CLOUDFLARE_API_TOKEN) || !/^\[ai\]/m.test(readFileSync(join(ROOT, config), "utf8"));

export interface DevCredentials {
  apiKey: string;
  adminToken: string;
}

const b64url = (n: number) => randomBytes(n).toString("base64url");
export const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

/** Dev credentials come from env when set, otherwise are generated once and kept in a git-ignored file. */
export function devCredentials(stateDir: string): DevCredentials {
  const file = join(stateDir, "dev-credentials.json");
  const saved: Partial<DevCredentials> = existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) : {};
  const creds = {
    apiKey: process.env.CIO_DEV_KEY || saved.apiKey || `sk-cio-${b64url(32)}`,
    adminToken: process.env.CIO_ADMIN_TOKEN || saved.adminToken || `adm-${b64url(24)}`,
  };
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(file, JSON.stringify(creds, null, 2), { mode: 0o600 });
  return creds;
}

/**
 * The repository's `.env` into process.env, for every script that talks to the local stack: `npm start`
 * reads PORT and CIO_STATE_DIR there, so `npm run admin` must too or it looks at another port and state.
 * Variables already set in the environment win over the file.
 */
export function loadDotEnv(root = ROOT): void {
  const file = join(root, ".env");
  if (existsSync(file)) process.loadEnvFile(file);
}

/** PORT as a TCP port number (8787 when unset). Throws on anything else: Number("") is 0, and "80.5" no port. */
export function parsePort(value: string | undefined): number {
  if (value === undefined) return 8787;
  const port = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!(port >= 1 && port <= 65535)) throw new Error(`PORT must be a whole number from 1 to 65535, not "${value}"`);
  return port;
}

/**
 * True if nothing listens on 127.0.0.1:port (the address the stack serves on). Checked before starting:
 * otherwise a stack already running there answers the health check and this start reports it as ready.
 */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((res) => {
    const server = createServer();
    server.once("error", () => res(false));
    server.listen(port, "127.0.0.1", () => server.close(() => res(true)));
  });
}

export function stateDir(): string {
  return resolve(ROOT, process.env.CIO_STATE_DIR ?? ".wrangler/state");
}

export function wrangler(args: string[], opts: { quiet?: boolean } = {}) {
  const r = spawnSync(WRANGLER, args, {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...TOOL_ENV, CI: "1" },
    stdio: opts.quiet ? "pipe" : "inherit",
  });
  if (r.status !== 0) throw new Error(`wrangler ${args.join(" ")} failed:\n${r.stdout ?? ""}${r.stderr ?? ""}`);
  return r.stdout;
}

const sqlString = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** Makes sure the dev tenant and its key exist in the local D1 (idempotent). */
export function ensureDevTenant(persistTo: string, creds: DevCredentials) {
  const hash = sha256(creds.apiKey);
  const sql = [
    `INSERT OR IGNORE INTO tenants (id, name) VALUES (${sqlString(DEV_TENANT)}, 'Local development')`,
    `INSERT OR IGNORE INTO api_keys (id, tenant_id, name, prefix, hash, scopes) VALUES (${sqlString(`key_dev_${hash.slice(0, 12)}`)}, ${sqlString(DEV_TENANT)}, 'dev', ${sqlString(creds.apiKey.slice(0, 11))}, ${sqlString(hash)}, '["*"]')`,
  ].join("; ");
  wrangler(["d1", "execute", "DB", "--local", "--persist-to", persistTo, "-c", "wrangler.toml", "--command", sql], { quiet: true });
}

export function applyMigrations(persistTo: string) {
  wrangler(["d1", "migrations", "apply", "DB", "--local", "--persist-to", persistTo, "-c", "wrangler.toml"], { quiet: true });
}

/** Settings passed from the environment (and `.env`) to every Worker in the local stack. */
const PASSED = /^(CIO_|BRAVE_|BINANCE_|HTTP_JSON_|MEDIA_)/;
const HEADER = "# generated by `npm start` from the environment and .env; edit .env instead\n";

/**
 * wrangler dev gives `--env-file` only to the first Worker, but reads `.dev.vars` beside every config, so
 * the settings are written there (git-ignored). A hand-written .dev.vars is left alone, with a warning.
 */
export function writeDevVars(creds: DevCredentials): void {
  const vars: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (PASSED.test(k) && v !== undefined && k !== "CIO_DEV_KEY") vars[k] = v;
  vars.CIO_ADMIN_TOKEN = creds.adminToken;
  const body = HEADER + Object.entries(vars).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join("\n") + "\n";
  for (const config of workerConfigs()) {
    const file = join(ROOT, dirname(config), ".dev.vars");
    if (existsSync(file) && !readFileSync(file, "utf8").startsWith(HEADER)) {
      console.warn(`${file} was not written by npm start; leaving it as it is`);
      continue;
    }
    writeFileSync(file, body, { mode: 0o600 });
  }
}
