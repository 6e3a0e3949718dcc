/**
 * What `npm start` prepares before wrangler runs (scripts/lib/local-stack.ts): the dev credentials, the dev
 * tenant and key in the local D1, and the `.dev.vars` files every Worker reads its settings from. `.dev.vars`
 * is read back here with wrangler's own reader (`unstable_getVarsForDev`, dotenv inside), as `wrangler dev` does.
 */
import { spawn } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { unstable_getVarsForDev, unstable_readConfig } from "wrangler";
import {
  applyMigrations,
  devCredentials,
  devKeyId,
  devVarsLine,
  ensureDevTenant,
  savedCredentials,
  skippedConfigs,
  startConfigs,
  toolEnv,
  workerConfigs,
  wrangler,
  writeDevVars,
  type DevCredentials,
} from "../../scripts/lib/local-stack.ts";
import { freePort } from "../support/stack.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const tmp: string[] = [];
const tmpDir = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tmp.push(dir);
  return dir;
};
beforeEach(() => {
  // Only what a test sets: the shell's own settings must not leak into what is written and read back.
  for (const k of Object.keys(process.env)) if (/^(CIO_|BRAVE_|BINANCE_|HTTP_JSON_|MEDIA_|CLOUDFLARE_API_TOKEN$)/.test(k)) vi.stubEnv(k, undefined);
});
afterEach(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
  tmp.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true }));
});

/** What wrangler dev gives the Worker of `config` from the `.dev.vars` beside it: name → value. */
function varsFor(config: string): Record<string, string> {
  const bindings = unstable_getVarsForDev(config, undefined, {}, undefined, true) as Record<string, { value: string }>;
  return Object.fromEntries(Object.entries(bindings).map(([k, b]) => [k, b.value]));
}

/** A repository root holding the real Worker configs (no sources: only the configs are read). */
function rootWithConfigs(): string {
  const root = tmpDir("cio-root-");
  for (const c of workerConfigs(ROOT).concat(skippedConfigs(ROOT))) {
    mkdirSync(join(root, c, ".."), { recursive: true });
    cpSync(join(ROOT, c), join(root, c));
  }
  return root;
}

const creds: DevCredentials = { apiKey: "sk-cio-test-0123456789abcdef", adminToken: "adm-test-token" };

describe(".dev.vars values", () => {
  const values = [
    'Reply as "CIO"',
    "it's",
    "it's `code`",
    `both ' and " and \``,
    "two\nlines",
    "crlf\r\nline",
    "  padded  ",
    "a # not a comment",
    "C:\\path\\",
    "back\\slash \\n not a newline",
    "",
    "$HOME ${PATH}",
    "ünïcödé ✓",
  ];

  it("reach the Worker exactly as set", () => {
    const dir = tmpDir("cio-vars-");
    const vars = Object.fromEntries(values.map((v, i) => [`CIO_V${i}`, v]));
    writeFileSync(join(dir, ".dev.vars"), Object.entries(vars).map(([k, v]) => devVarsLine(k, v)).join("\n") + "\n");
    expect(varsFor(join(dir, "wrangler.toml"))).toEqual(vars);
  });

  it("refuse a value no quoting carries unchanged, naming it", () => {
    expect(() => devVarsLine("CIO_SYSTEM_PROMPT", 'line one\nsays "hi"')).toThrow(/CIO_SYSTEM_PROMPT cannot be written to .dev.vars/);
    expect(() => devVarsLine("CIO_X", "a\nb\\c")).toThrow(/CIO_X cannot be written/);
    expect(() => devVarsLine("CIO_X", `' \` " # x`)).toThrow(/CIO_X cannot be written/);
  });

  it("writeDevVars refuses before writing any file", () => {
    const root = rootWithConfigs();
    vi.stubEnv("CIO_SYSTEM_PROMPT", 'Say "hi"\nthen stop');
    expect(() => writeDevVars(creds, root)).toThrow(/CIO_SYSTEM_PROMPT cannot be written/);
    expect(() => readFileSync(join(root, ".dev.vars"))).toThrow(/ENOENT/);
  });
});

describe("writeDevVars", () => {
  it("gives every Worker the settings and the banner's admin token, quotes and all", () => {
    const root = rootWithConfigs();
    vi.stubEnv("CIO_SYSTEM_PROMPT", 'Reply as "CIO"');
    writeDevVars(creds, root);
    for (const c of workerConfigs(root)) expect(varsFor(join(root, c)), c).toEqual({ CIO_SYSTEM_PROMPT: 'Reply as "CIO"', CIO_ADMIN_TOKEN: creds.adminToken });
  });

  it("adds its settings to a hand-written .dev.vars, keeps the rest, and replaces them on the next start", () => {
    const root = rootWithConfigs();
    const own = "# mine\nBRAVE_API_KEY=brave-secret\nCIO_ADMIN_TOKEN=stale\nCIO_CORS_ORIGINS='https://a.example'";
    writeFileSync(join(root, ".dev.vars"), own);
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    vi.stubEnv("CIO_LOG_LEVEL", "debug");
    writeDevVars(creds, root);
    writeDevVars({ ...creds, adminToken: "adm-second-start" }, root);
    const text = readFileSync(join(root, ".dev.vars"), "utf8");
    expect(text.startsWith(`${own}\n\n# >>> added by \`npm start\``)).toBe(true);
    expect(text.match(/# >>> added by/g)).toHaveLength(1);
    expect(varsFor(join(root, "wrangler.toml"))).toEqual({
      BRAVE_API_KEY: "brave-secret",
      CIO_CORS_ORIGINS: "https://a.example",
      CIO_LOG_LEVEL: "debug",
      CIO_ADMIN_TOKEN: "adm-second-start", // the token the banner prints, not the file's own
    });
    expect(warn.mock.calls.flat().join("\n")).toContain("sets CIO_ADMIN_TOKEN itself");
  });
});

describe("writeDevVars with a variable set to nothing", () => {
  // `NAME=` in .env: written as NAME='' it overrode a hand-written .dev.vars and reached the Worker as "".
  it("leaves it out, so the Worker gets its default or the value its own .dev.vars sets", () => {
    const root = rootWithConfigs();
    writeFileSync(join(root, ".dev.vars"), "CIO_KEY_CACHE_TTL_S=5\n");
    vi.spyOn(console, "warn").mockImplementation(() => {});
    vi.stubEnv("CIO_KEY_CACHE_TTL_S", "");
    vi.stubEnv("CIO_TASK_RETENTION_S", " ");
    writeDevVars(creds, root);
    expect(varsFor(join(root, "wrangler.toml"))).toEqual({ CIO_KEY_CACHE_TTL_S: "5", CIO_ADMIN_TOKEN: creds.adminToken });
    expect(varsFor(join(root, "workers/orchestrator/wrangler.toml"))).toEqual({ CIO_ADMIN_TOKEN: creds.adminToken });
  });
});

describe("the Workers npm start leaves out without an account", () => {
  it("include queue consumers with an [ai] binding, not only tools", () => {
    const root = rootWithConfigs();
    const heavy = "queues/heavy/wrangler.toml";
    writeFileSync(join(root, heavy), `${readFileSync(join(root, heavy), "utf8")}\n[ai]\nbinding = "AI"\n`);
    expect(workerConfigs(root)).not.toContain(heavy);
    expect(skippedConfigs(root)).toEqual(expect.arrayContaining([heavy, "workers/tools/media/wrangler.toml"]));
    vi.stubEnv("CLOUDFLARE_API_TOKEN", "t");
    expect(skippedConfigs(root)).toEqual([]);
  });

  // The media Worker was started with the token, but the checked-in orchestrator config does not bind it (only the
  // deploy copy did) and the heavy consumer had no Workers AI, so nothing called the tool and image tasks failed 501.
  it("with CLOUDFLARE_API_TOKEN, run what deploy does: the media tool bound to the orchestrator, Workers AI in the heavy consumer", () => {
    const root = rootWithConfigs();
    vi.stubEnv("CLOUDFLARE_API_TOKEN", "t");
    const started = startConfigs(root).map((c) => unstable_readConfig({ config: join(root, c) }));
    const byName = new Map(started.map((c) => [c.name, c]));
    expect([...byName.keys()]).toContain("cio-tool-media");
    expect(byName.get("cio-orchestrator")!.services).toContainEqual(expect.objectContaining({ binding: "TOOL_MEDIA", service: "cio-tool-media" }));
    expect(byName.get("cio-queue-heavy")!.ai).toMatchObject({ binding: "AI" });
    const unstarted = started.flatMap((c) => c.services.map((s: { service: string }) => s.service)).filter((s) => !byName.has(s));
    expect(unstarted).toEqual([]);
    vi.stubEnv("CLOUDFLARE_API_TOKEN", undefined);
    expect(startConfigs(root)).toEqual(workerConfigs(root)); // offline: the checked-in configs, as they are
  });

  it("wrangler sees what .env set after the scripts were imported (CLOUDFLARE_API_TOKEN)", () => {
    vi.stubEnv("CLOUDFLARE_API_TOKEN", "from-dot-env");
    expect(toolEnv()).toMatchObject({ CLOUDFLARE_API_TOKEN: "from-dot-env", WRANGLER_SEND_METRICS: "false" });
  });
});

describe("dev credentials", () => {
  it("refuse a CIO_DEV_KEY that could never authenticate", () => {
    const state = tmpDir("cio-state-");
    vi.stubEnv("CIO_DEV_KEY", "sk-cio my key with spaces");
    expect(() => devCredentials(state)).toThrow("CIO_DEV_KEY must be printable ASCII with no spaces");
    vi.stubEnv("CIO_DEV_KEY", "sk-short");
    expect(() => devCredentials(state)).toThrow("CIO_DEV_KEY must be at least 16 characters long, not 8");
    vi.stubEnv("CIO_DEV_KEY", "sk-cio-long-enough-key");
    expect(devCredentials(state).apiKey).toBe("sk-cio-long-enough-key");
  });

  it("name the file to delete when it is broken", () => {
    const state = tmpDir("cio-state-");
    const file = join(state, "dev-credentials.json");
    writeFileSync(file, '{"apiKey": "sk-cio-');
    expect(() => devCredentials(state)).toThrow(`${file} is not valid JSON`);
    expect(() => devCredentials(state)).toThrow("Delete it and run `npm start` again");
    writeFileSync(file, '["x"]');
    expect(() => savedCredentials(file)).toThrow("does not hold a JSON object");
    writeFileSync(file, '{"apiKey": 5}');
    expect(() => savedCredentials(file)).toThrow("has an unusable apiKey");
  });

  it("npm start says so and exits 1 without a stack trace, before starting anything", async () => {
    const state = tmpDir("cio-state-");
    writeFileSync(join(state, "dev-credentials.json"), "not json");
    const child = spawn(process.execPath, [join(ROOT, "scripts/start.ts")], {
      cwd: ROOT,
      env: { ...process.env, PORT: String(await freePort()), CIO_STATE_DIR: state },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d));
    child.stderr.on("data", (d: Buffer) => (out += d));
    const code = await new Promise<number | null>((res) => child.on("exit", res));
    expect(code).toBe(1);
    expect(out).toContain(`${join(state, "dev-credentials.json")} is not valid JSON`);
    expect(out).not.toMatch(/SyntaxError|\n\s+at /);
    expect(out).not.toContain("applying D1 migrations");
  });
});

describe("ensureDevTenant", () => {
  /** Statements against the local D1 in `state` (in one wrangler call: each takes seconds): each one's rows. */
  const query = (state: string, ...sql: string[]): unknown[][] =>
    (JSON.parse(wrangler(["d1", "execute", "DB", "--local", "--persist-to", state, "-c", "wrangler.toml", "--json", "--command", sql.join("; ")], { quiet: true })) as { results: unknown[] }[]).map((r) => r.results);
  const keys = "SELECT id, revoked_at IS NOT NULL AS revoked, scopes FROM api_keys ORDER BY id";

  // Seven wrangler runs of several seconds each on a busy 2-core machine.
  it("makes the banner's key work again on restart, and retires a dev key no longer configured", { timeout: 240_000 }, () => {
    const state = tmpDir("cio-d1-");
    applyMigrations(state);
    ensureDevTenant(state, creds);
    // What an earlier session may have left: the dev key revoked and narrowed, its tenant suspended; and a key of
    // the operator's own on the dev tenant, which is none of npm start's business.
    query(
      state,
      "UPDATE tenants SET status = 'suspended' WHERE id = 'ten_dev'",
      `UPDATE api_keys SET revoked_at = 1, scopes = '["chat"]' WHERE id = '${devKeyId(creds.apiKey)}'`,
      `INSERT INTO api_keys (id, tenant_id, name, prefix, hash, scopes) VALUES ('key_0a1b2c', 'ten_dev', 'mine', 'sk-cio-mine', 'h', '["chat"]')`,
    );
    ensureDevTenant(state, creds);
    const [tenant, afterRestart] = query(state, "SELECT status FROM tenants WHERE id = 'ten_dev'", keys);
    expect(tenant).toEqual([{ status: "active" }]);
    expect(afterRestart).toEqual(
      [
        { id: devKeyId(creds.apiKey), revoked: 0, scopes: '["*"]' },
        { id: "key_0a1b2c", revoked: 0, scopes: '["chat"]' },
      ].sort((a, b) => a.id.localeCompare(b.id)),
    );

    // CIO_DEV_KEY changed: the old dev key stops working, the new one works, the operator's key is left alone.
    const next = { ...creds, apiKey: "sk-cio-another-dev-key-42" };
    ensureDevTenant(state, next);
    expect(query(state, keys)[0]).toEqual(
      [
        { id: devKeyId(creds.apiKey), revoked: 1, scopes: '["*"]' },
        { id: devKeyId(next.apiKey), revoked: 0, scopes: '["*"]' },
        { id: "key_0a1b2c", revoked: 0, scopes: '["chat"]' },
      ].sort((a, b) => a.id.localeCompare(b.id)),
    );
  });
});
