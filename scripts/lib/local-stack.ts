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
import { deployableConfig } from "./deploy-ai.ts";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const WRANGLER = join(ROOT, "node_modules/.bin/wrangler");
export const DEV_TENANT = "ten_dev";

/**
 * The environment wrangler runs with. It needs Node 22: the pinned one in node_modules/.bin goes first, however
 * this script was started. Built at each call, not when this module is imported: the scripts load `.env`
 * after their imports, and wrangler must see what it sets (CLOUDFLARE_API_TOKEN, say).
 */
export function toolEnv(): NodeJS.ProcessEnv {
  return { ...process.env, PATH: `${join(ROOT, "node_modules/.bin")}:${process.env.PATH ?? ""}`, WRANGLER_SEND_METRICS: "false" };
}

/**
 * The gateway first (it is served on the port), then the orchestrator, the tools and the queue consumers.
 * A Worker with an `[ai]` binding needs a Cloudflare account even under `wrangler dev --local`, so without
 * CLOUDFLARE_API_TOKEN it is left out (the orchestrator then reports that tool as unavailable).
 */
export function workerConfigs(root = ROOT): string[] {
  return localConfigs(root).filter((c) => runsOffline(root, c));
}

/**
 * The configs `npm start` gives wrangler: those of workerConfigs, and with CLOUDFLARE_API_TOKEN, which adds the
 * media tool, the copies deploy writes (deploy-ai.ts): the orchestrator's binds that tool (TOOL_MEDIA) and it and
 * the heavy consumer get Workers AI, so image tasks and the media tool work and `cio/auto` answers with Workers AI
 * unless CIO_PROVIDER says otherwise. The checked-in configs leave all that out so that they run offline.
 */
export function startConfigs(root = ROOT): string[] {
  const configs = workerConfigs(root);
  return process.env.CLOUDFLARE_API_TOKEN ? configs.map((c) => deployableConfig(c, true, root)) : configs;
}

/** The configs `workerConfigs` leaves out for want of CLOUDFLARE_API_TOKEN (tools and queue consumers alike). */
export function skippedConfigs(root = ROOT): string[] {
  return localConfigs(root).filter((c) => !runsOffline(root, c));
}

function localConfigs(root: string): string[] {
  const tools = globSync("workers/tools/*/wrangler.toml", { cwd: root }).sort();
  const queues = globSync("queues/*/wrangler.toml", { cwd: root }).sort();
  return ["wrangler.toml", "workers/orchestrator/wrangler.toml", ...tools, ...queues];
}

const runsOffline = (root: string, config: string) =>
  Boolean(process.env.CLOUDFLARE_API_TOKEN) || !/^\[ai\]/m.test(readFileSync(join(root, config), "utf8"));

export interface DevCredentials {
  apiKey: string;
  adminToken: string;
}

const b64url = (n: number) => randomBytes(n).toString("base64url");
export const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

/** The shortest CIO_DEV_KEY taken (generated keys are 50 characters). */
export const DEV_KEY_MIN_LENGTH = 16;
/** What a bearer credential may hold: the API reads `Authorization: Bearer (\S+)`, and headers are ASCII. */
const BEARER = /^[\x21-\x7e]+$/;

/**
 * Dev credentials come from env when set, otherwise are generated once and kept in a git-ignored file.
 * Throws, with a message meant for the operator, on a CIO_DEV_KEY or CIO_ADMIN_TOKEN that could never
 * authenticate and on a credentials file that cannot be read.
 */
export function devCredentials(stateDir: string): DevCredentials {
  const file = join(stateDir, "dev-credentials.json");
  const saved = savedCredentials(file);
  const creds = {
    apiKey: checked("CIO_DEV_KEY", process.env.CIO_DEV_KEY, DEV_KEY_MIN_LENGTH) || saved.apiKey || `sk-cio-${b64url(32)}`,
    adminToken: checked("CIO_ADMIN_TOKEN", process.env.CIO_ADMIN_TOKEN, 1) || saved.adminToken || `adm-${b64url(24)}`,
  };
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(file, JSON.stringify(creds, null, 2), { mode: 0o600 });
  return creds;
}

function checked(name: string, value: string | undefined, minLength: number): string | undefined {
  if (!value) return undefined;
  if (!BEARER.test(value)) {
    throw new Error(`${name} must be printable ASCII with no spaces (the API reads a bearer token up to the first space, so this one could never authenticate)`);
  }
  if (value.length < minLength) throw new Error(`${name} must be at least ${minLength} characters long, not ${value.length}`);
  return value;
}

/**
 * What `npm start` saved in `file` (dev-credentials.json), {} when there is none. Throws a message naming the
 * file to delete when it is not what `npm start` writes (a start that died mid-write, a hand edit).
 */
export function savedCredentials(file: string): Partial<DevCredentials> {
  if (!existsSync(file)) return {};
  const broken = (why: string) =>
    new Error(`${file} ${why}. Delete it and run \`npm start\` again: it makes a new dev API key and admin token (set CIO_DEV_KEY and CIO_ADMIN_TOKEN to choose them).`);
  let saved: unknown;
  try {
    saved = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw broken(`is not valid JSON (${(err as Error).message})`);
  }
  if (typeof saved !== "object" || saved === null || Array.isArray(saved)) throw broken("does not hold a JSON object");
  const { apiKey, adminToken } = saved as Record<string, unknown>;
  for (const [name, value] of [["apiKey", apiKey], ["adminToken", adminToken]] as const) {
    if (value !== undefined && !(typeof value === "string" && BEARER.test(value))) throw broken(`has an unusable ${name}`);
  }
  return { apiKey: apiKey as string | undefined, adminToken: adminToken as string | undefined };
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
    env: { ...toolEnv(), CI: "1" },
    stdio: opts.quiet ? "pipe" : "inherit",
  });
  if (r.status !== 0) throw new Error(`wrangler ${args.join(" ")} failed:\n${r.stdout ?? ""}${r.stderr ?? ""}`);
  return r.stdout;
}

const sqlString = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** The id of the dev key `apiKey` in api_keys: every dev key's id starts with `key_dev_`. */
export const devKeyId = (apiKey: string) => `key_dev_${sha256(apiKey).slice(0, 12)}`;

/**
 * Makes sure the banner's key works (idempotent): the dev tenant exists and is active, the dev key exists,
 * unrevoked and with every scope, and dev keys of an earlier CIO_DEV_KEY are revoked.
 */
export function ensureDevTenant(persistTo: string, creds: DevCredentials) {
  const hash = sha256(creds.apiKey);
  const id = sqlString(devKeyId(creds.apiKey));
  const tenant = sqlString(DEV_TENANT);
  const sql = [
    `INSERT INTO tenants (id, name) VALUES (${tenant}, 'Local development') ON CONFLICT (id) DO UPDATE SET status = 'active'`,
    `INSERT INTO api_keys (id, tenant_id, name, prefix, hash, scopes) VALUES (${id}, ${tenant}, 'dev', ${sqlString(creds.apiKey.slice(0, 11))}, ${sqlString(hash)}, '["*"]') ON CONFLICT (id) DO UPDATE SET tenant_id = excluded.tenant_id, hash = excluded.hash, scopes = excluded.scopes, revoked_at = NULL`,
    // substr, not LIKE: `_` is a LIKE wildcard.
    `UPDATE api_keys SET revoked_at = CAST(unixepoch('subsec') * 1000 AS INTEGER) WHERE tenant_id = ${tenant} AND substr(id, 1, 8) = 'key_dev_' AND id <> ${id} AND revoked_at IS NULL`,
  ].join("; ");
  wrangler(["d1", "execute", "DB", "--local", "--persist-to", persistTo, "-c", "wrangler.toml", "--command", sql], { quiet: true });
}

export function applyMigrations(persistTo: string) {
  wrangler(["d1", "migrations", "apply", "DB", "--local", "--persist-to", persistTo, "-c", "wrangler.toml"], { quiet: true });
}

/** Settings passed from the environment (and `.env`) to every Worker in the local stack. */
const PASSED = /^(CIO_|BRAVE_|BINANCE_|HTTP_JSON_|MEDIA_)/;
const HEADER = "# generated by `npm start` from the environment and .env; edit .env instead\n";
/** Around what `npm start` adds to a `.dev.vars` it did not write: replaced on every start, the rest kept. */
const BLOCK_BEGIN = "# >>> added by `npm start` from the environment, .env and the dev credentials; rewritten on every start (edit .env instead)";
const BLOCK_END = "# <<< end of what `npm start` adds";

/**
 * wrangler dev gives `--env-file` only to the first Worker, but reads `.dev.vars` beside every config, so
 * the settings are written there (git-ignored). A `.dev.vars` written by hand (BRAVE_API_KEY for web-search,
 * say) is kept: the settings are added at its end between marker lines, which later starts replace, so the
 * gateway always gets the admin token the banner prints. A variable set to nothing (`NAME=` in `.env`) is
 * left out: the Worker then uses its default, or what a hand-written `.dev.vars` sets, which an empty value
 * written after it would override. Throws, before writing anything, on a value wrangler could not read back
 * unchanged.
 */
export function writeDevVars(creds: DevCredentials, root = ROOT): void {
  const vars: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (PASSED.test(k) && v?.trim() && k !== "CIO_DEV_KEY") vars[k] = v;
  vars.CIO_ADMIN_TOKEN = creds.adminToken;
  const lines = Object.entries(vars).map(([k, v]) => devVarsLine(k, v));
  for (const config of workerConfigs(root)) {
    const file = join(root, dirname(config), ".dev.vars");
    const existing = existsSync(file) ? readFileSync(file, "utf8") : undefined;
    const merged = mergeDevVars(existing, lines);
    if (existing !== undefined && !existing.startsWith(HEADER)) {
      const own = ownKeys(merged).filter((k) => k in vars);
      if (own.length) console.warn(`${file} sets ${own.join(", ")} itself; the value npm start adds at its end is the one used`);
      if (!existing.includes(BLOCK_BEGIN)) console.warn(`${file} was written by hand: npm start adds its settings at the end, between marker lines, and keeps the rest`);
    }
    writeFileSync(file, merged, { mode: 0o600 });
  }
}

/** The new text of a `.dev.vars` (`existing`, or none) holding `lines` as `npm start` writes them. */
export function mergeDevVars(existing: string | undefined, lines: string[]): string {
  if (existing === undefined || existing.startsWith(HEADER)) return HEADER + lines.map((l) => `${l}\n`).join("");
  const own = withoutBlock(existing).trimEnd();
  return `${own}${own ? "\n\n" : ""}${BLOCK_BEGIN}\n${lines.map((l) => `${l}\n`).join("")}${BLOCK_END}\n`;
}

function withoutBlock(text: string): string {
  const begin = text.indexOf(BLOCK_BEGIN);
  if (begin < 0) return text;
  const end = text.indexOf(BLOCK_END, begin);
  return text.slice(0, begin) + (end < 0 ? "" : text.slice(end + BLOCK_END.length).replace(/^\n/, ""));
}

/** Names a hand-written part of a `.dev.vars` sets (outside npm start's block), for the warning. */
function ownKeys(text: string): string[] {
  return [...withoutBlock(text).matchAll(/^\s*(?:export\s+)?([\w.-]+)\s*[=:]/gm)].map((m) => m[1]!);
}

/**
 * `key=value` as wrangler reads `.dev.vars` back (its dotenv 16 parser): single quotes and backticks keep
 * everything literally but cannot hold their own quote or a line break; double quotes turn \n and \r into
 * line breaks and cannot hold `"`; a bare value loses surrounding spaces and ends at `#`. Throws for a value no
 * form carries unchanged.
 */
export function devVarsLine(key: string, value: string): string {
  if (!/^[\w.-]+$/.test(key)) throw new Error(`${key} cannot be passed to the local Workers: .dev.vars takes names of letters, digits, _, . and - only`);
  const oneLine = !/[\r\n]/.test(value) && !value.endsWith("\\");
  if (oneLine && !value.includes("'")) return `${key}='${value}'`;
  if (oneLine && !value.includes("`")) return `${key}=\`${value}\``;
  if (!/["\\]/.test(value)) return `${key}="${value.replace(/\n/g, "\\n").replace(/\r/g, "\\r")}"`;
  if (/^[^\s#'"`][^#\r\n]*$/.test(value) && !/\s$/.test(value)) return `${key}=${value}`;
  throw new Error(
    `${key} cannot be written to .dev.vars so that wrangler reads it back unchanged: a value with a line break cannot also hold " or \\, and one with ', \` and " (or a trailing \\) needs no spaces or # to go unquoted. Change it in the environment or .env.`,
  );
}
