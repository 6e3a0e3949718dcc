/**
 * Workers AI is the model provider a deployment answers with by default (DESIGN: "the AI binding; the
 * default when deployed"): with it bound, `cio/auto`, councils and image tasks have a model with nothing else
 * configured. A config holding `[ai]` cannot run offline under `wrangler dev` (Workers AI needs an account
 * even locally), so the checked-in configs leave the binding out and deploy adds it: each config below is
 * deployed from a copy beside it (its relative paths stay valid) with the binding added. `--no-ai` deploys
 * them without it (then an upstream, CIO_UPSTREAM_BASE_URL, or the builtin planner answers).
 *
 * The same holds for a service binding to a Worker that needs Workers AI: the media tool (its own config
 * has `[ai]`, so `npm start` runs it only with CLOUDFLARE_API_TOKEN). The orchestrator's checked-in config
 * leaves TOOL_MEDIA out, so the offline stack does not bind a Worker it does not run; its deploy copy adds it
 * (with or without `--no-ai`: the media Worker is deployed, with its own binding, either way).
 *
 * `npm start` with CLOUDFLARE_API_TOKEN runs the media Worker too, so it runs these copies as well
 * (local-stack.ts startConfigs): the orchestrator can then call the media tool and the heavy consumer draw images.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { ROOT } from "./local-stack.ts";

/** The Workers that read env.AI: the orchestrator (cio/auto, councils) and the heavy consumer (image tasks). */
export const AI_CONFIGS = ["workers/orchestrator/wrangler.toml", "queues/heavy/wrangler.toml"];

/** Service bindings only a deployment gets, per config: Workers that `npm start` runs only with an account. */
export const DEPLOY_SERVICES: Record<string, { binding: string; service: string }[]> = {
  "workers/orchestrator/wrangler.toml": [{ binding: "TOOL_MEDIA", service: "cio-tool-media" }],
};

/** The copy deploy writes (git-ignored). */
export const DEPLOY_COPY = ".deploy.wrangler.toml";

export function withAiBinding(toml: string): string {
  if (/^\[ai\]/m.test(toml)) return toml;
  return `${toml.trimEnd()}\n\n# Added by npm run deploy: Workers AI, the default model provider when deployed.\n[ai]\nbinding = "AI"\n`;
}

/** `toml` with a `[[services]]` table for each of `services` whose binding name it does not hold yet. */
export function withServiceBindings(toml: string, services: { binding: string; service: string }[]): string {
  const missing = services.filter((s) => !new RegExp(`^binding\\s*=\\s*"${s.binding}"`, "m").test(toml));
  if (!missing.length) return toml;
  const tables = missing.map((s) => `[[services]]\nbinding = "${s.binding}"\nservice = "${s.service}"\n`).join("\n");
  return `${toml.trimEnd()}\n\n# Added by npm run deploy: tool Workers that need Workers AI (npm start runs them only with an account).\n${tables}`;
}

/**
 * The config `wrangler deploy` is given for `config`: a copy with what a deployment adds, where it adds any.
 * `root`: the repository the config path is relative to.
 */
export function deployableConfig(config: string, ai: boolean, root = ROOT): string {
  const services = DEPLOY_SERVICES[config] ?? [];
  const addAi = ai && AI_CONFIGS.includes(config);
  if (!addAi && !services.length) return config;
  const toml = withServiceBindings(readFileSync(join(root, config), "utf8"), services);
  const copy = join(dirname(config), DEPLOY_COPY);
  writeFileSync(join(root, copy), addAi ? withAiBinding(toml) : toml);
  return copy;
}
