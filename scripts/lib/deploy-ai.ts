/**
 * Workers AI is the model provider a deployment answers with by default (DESIGN: "the AI binding; the
 * default when deployed"): with it bound, `cio/auto`, councils and image tasks have a model with nothing else
 * configured. A config holding `[ai]` cannot run offline under `wrangler dev` (Workers AI needs an account
 * even locally), so the checked-in configs leave the binding out and deploy adds it: each config below is
 * deployed from a copy beside it (its relative paths stay valid) with the binding added. `--no-ai` deploys
 * them as they are (then an upstream, CIO_UPSTREAM_BASE_URL, or the builtin planner answers).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { ROOT } from "./local-stack.ts";

/** The Workers that read env.AI: the orchestrator (cio/auto, councils) and the heavy consumer (image tasks). */
export const AI_CONFIGS = ["workers/orchestrator/wrangler.toml", "queues/heavy/wrangler.toml"];

/** The copy deploy writes (git-ignored). */
export const DEPLOY_COPY = ".deploy.wrangler.toml";

export function withAiBinding(toml: string): string {
  if (/^\[ai\]/m.test(toml)) return toml;
  return `${toml.trimEnd()}\n\n# Added by npm run deploy: Workers AI, the default model provider when deployed.\n[ai]\nbinding = "AI"\n`;
}

/** The config `wrangler deploy` is given for `config`: the copy with the AI binding where it applies. */
export function deployableConfig(config: string, ai: boolean): string {
  if (!ai || !AI_CONFIGS.includes(config)) return config;
  const copy = join(dirname(config), DEPLOY_COPY);
  writeFileSync(join(ROOT, copy), withAiBinding(readFileSync(join(ROOT, config), "utf8")));
  return copy;
}
