/**
 * Runs our Workers outside `wrangler dev`: each is bundled with `wrangler deploy --dry-run` (offline,
 * about 1.5 s) and its wrangler config translated into Miniflare options by wrangler's own reader, so the
 * bindings are exactly those of the config files. Used by the multi-Worker tests (the vitest plugin runs
 * only the Worker under test from source) and by the benchmarks (no dev proxy in front of workerd).
 */
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
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
  execFileSync(join(ROOT, "node_modules/.bin/wrangler"), ["deploy", "--dry-run", "--outdir", outdir, "-c", join(ROOT, configPath)], {
    cwd: ROOT,
    stdio: "pipe",
    env: { ...process.env, PATH: `${join(ROOT, "node_modules/.bin")}:${process.env.PATH ?? ""}`, WRANGLER_SEND_METRICS: "false", CI: "1" },
  });
  built.set(key, outdir);
  return outdir;
}

export interface WorkerOverrides {
  /** Extra or replaced plain-text bindings (vars). */
  vars?: Record<string, string>;
  /** Replaces service bindings by name, e.g. to point a Worker at a test double at the edge. */
  serviceBindings?: Record<string, unknown>;
}

/** Miniflare worker options for a bundled Worker, built from its wrangler config. */
export function workerOptions(configPath: string, opts: WorkerOverrides = {}, outRoot?: string): LegacyWorkerOptions {
  const outdir = bundle(configPath, outRoot);
  const config = unstable_readConfig({ config: join(ROOT, configPath) });
  const { workerOptions: o } = unstable_getMiniflareWorkerOptions(config) as unknown as { workerOptions: Record<string, unknown> };
  // miniflare 5 rejects modulesRules on a prebuilt bundle; the bundle is plain ES modules anyway.
  delete o.modulesRules;
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
