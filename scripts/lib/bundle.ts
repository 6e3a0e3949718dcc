/**
 * Runs our Workers outside `wrangler dev`: each is bundled with `wrangler deploy --dry-run` (offline,
 * about 1.5 s) and its wrangler config translated into Miniflare options by wrangler's own reader, so the
 * bindings are exactly those of the config files. Used by the multi-Worker tests (the vitest plugin runs
 * only the Worker under test from source) and by the benchmarks (no dev proxy in front of workerd).
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, globSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { LegacyWorkerOptions } from "miniflare";
import { unstable_getMiniflareWorkerOptions, unstable_readConfig } from "wrangler";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const built = new Map<string, string>();

/** Bundle the Worker described by `configPath` (relative to the repo root); returns the output folder. */
export function bundle(configPath: string, outRoot = join(ROOT, "test/.bundles")): string {
  const key = `${outRoot}:${configPath}`;
  const cached = built.get(key);
  if (cached) return cached;
  const outdir = join(outRoot, configPath.replace(/[/.]+/g, "_"));
  mkdirSync(outdir, { recursive: true });
  // A bundle whose sources have not changed since it was built is reused: every vitest project start
  // would otherwise pay wrangler's bundling (seconds per Worker) again.
  const stamp = join(outdir, ".sources");
  const sources = sourceStamp(configPath);
  if (existsSync(stamp) && readFileSync(stamp, "utf8") === sources) {
    built.set(key, outdir);
    return outdir;
  }
  execFileSync(join(ROOT, "node_modules/.bin/wrangler"), ["deploy", "--dry-run", "--outdir", outdir, "-c", join(ROOT, configPath)], {
    cwd: ROOT,
    stdio: "pipe",
    env: { ...process.env, PATH: `${join(ROOT, "node_modules/.bin")}:${process.env.PATH ?? ""}`, WRANGLER_SEND_METRICS: "false", CI: "1" },
  });
  writeFileSync(stamp, sources);
  built.set(key, outdir);
  return outdir;
}

/** Paths, sizes and modification times of everything a Worker bundle may include, hashed. */
function sourceStamp(configPath: string): string {
  const patterns = ["lib/**/*.ts", "workers/**/src/**/*.ts", "durable-objects/**/*.ts", "queues/**/*.ts", "d1-migrations/schema/*.ts", "test/support/ai-mock/*", "package-lock.json", "*.toml", "workers/**/wrangler.toml", "queues/**/wrangler.toml"];
  const files = globSync(patterns, { cwd: ROOT }).filter((f) => !f.includes("node_modules")).sort();
  const h = createHash("sha256").update(configPath);
  for (const f of files) {
    const st = statSync(join(ROOT, f));
    h.update(`${f}:${st.size}:${st.mtimeMs}\n`);
  }
  return h.digest("hex");
}

export interface WorkerOverrides {
  /** Extra or replaced plain-text bindings (vars). */
  vars?: Record<string, string>;
  /**
   * Replaces service bindings by name, e.g. to point a Worker at a test double at the edge; one named as the
   * config's `[ai]` binding replaces Workers AI (which cannot run offline) with it.
   */
  serviceBindings?: Record<string, unknown>;
}

/** Miniflare worker options for a bundled Worker, built from its wrangler config. */
export function workerOptions(configPath: string, opts: WorkerOverrides = {}, outRoot?: string): LegacyWorkerOptions {
  const outdir = bundle(configPath, outRoot);
  const config = unstable_readConfig({ config: join(ROOT, configPath) });
  const { workerOptions: o } = unstable_getMiniflareWorkerOptions(config) as unknown as { workerOptions: Record<string, unknown> };
  // miniflare 5 rejects modulesRules on a prebuilt bundle; the bundle is plain ES modules anyway.
  delete o.modulesRules;
  const aiBinding = (o.ai as { binding?: string } | undefined)?.binding;
  if (aiBinding && opts.serviceBindings?.[aiBinding]) delete o.ai;
  const main = (config.main ?? "index.js").split("/").pop()!.replace(/\.[cm]?[jt]sx?$/, ".js");
  return {
    ...o,
    name: config.name,
    modules: true,
    scriptPath: join(outdir, main),
    modulesRoot: outdir,
    bindings: { ...(o.bindings as Record<string, unknown> | undefined), ...opts.vars },
    serviceBindings: { ...(o.serviceBindings as object | undefined), ...opts.serviceBindings },
  } as LegacyWorkerOptions;
}
