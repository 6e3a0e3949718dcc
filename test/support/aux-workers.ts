/**
 * Auxiliary Workers for multi-Worker tests. The vitest plugin runs only the Worker under test from its
 * wrangler config; every Worker it binds to must be handed over as prebuilt JavaScript. We bundle each
 * with `wrangler deploy --dry-run` (offline, ~1.5 s) and translate its wrangler config into Miniflare
 * options with wrangler's own reader, so the bindings in tests are the ones in the config files.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { unstable_getMiniflareWorkerOptions, unstable_readConfig } from "wrangler";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const OUT = join(ROOT, "test/.bundles");
const built = new Map<string, string>();

/** Bundle the Worker described by `configPath` (relative to the repo root) and return its output folder. */
export function bundle(configPath: string): string {
  const cached = built.get(configPath);
  if (cached) return cached;
  const name = configPath.replace(/[/.]+/g, "_");
  const outdir = join(OUT, name);
  mkdirSync(outdir, { recursive: true });
  execFileSync(
    join(ROOT, "node_modules/.bin/wrangler"),
    ["deploy", "--dry-run", "--outdir", outdir, "-c", join(ROOT, configPath)],
    { cwd: ROOT, stdio: "pipe", env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "1" } },
  );
  built.set(configPath, outdir);
  return outdir;
}

export interface AuxOptions {
  /** Extra or replaced plain-text bindings (vars). */
  vars?: Record<string, string>;
  /** Replaces service bindings by name, e.g. to point a Worker at a test double at the edge. */
  serviceBindings?: Record<string, unknown>;
}

/** Miniflare worker options for an auxiliary Worker, built from its wrangler config. */
export function auxWorker(configPath: string, opts: AuxOptions = {}): Record<string, unknown> {
  const outdir = bundle(configPath);
  const config = unstable_readConfig({ config: join(ROOT, configPath) });
  const { workerOptions } = unstable_getMiniflareWorkerOptions(config) as unknown as {
    workerOptions: Record<string, unknown>;
  };
  // miniflare 5 rejects modulesRules on a prebuilt bundle; the bundle is plain ES modules anyway.
  delete workerOptions.modulesRules;
  const bindings = { ...(workerOptions.bindings as Record<string, unknown> | undefined), ...opts.vars };
  return {
    ...workerOptions,
    name: config.name,
    modules: true,
    scriptPath: join(outdir, "index.js"),
    modulesRoot: outdir,
    bindings,
    serviceBindings: { ...(workerOptions.serviceBindings as object | undefined), ...opts.serviceBindings },
  };
}
