/**
 * `npm run deploy`: remote D1 migrations, then every Worker in dependency order — the tools and queue
 * consumers first, then the orchestrator (it binds the tools and exports the Durable Objects), then the
 * gateway (it binds the orchestrator). Needs CLOUDFLARE_API_TOKEN (and CLOUDFLARE_ACCOUNT_ID) in env.
 * `--dry-run` bundles everything without uploading, which CI-style checks can use offline.
 */
import { globSync } from "node:fs";
import { ROOT, wrangler } from "./lib/local-stack.ts";

const dryRun = process.argv.includes("--dry-run");
if (!dryRun && !process.env.CLOUDFLARE_API_TOKEN) {
  console.error("Set CLOUDFLARE_API_TOKEN (and CLOUDFLARE_ACCOUNT_ID) to deploy, or pass --dry-run.");
  process.exitCode = 1;
} else {
  const order = [
    ...globSync("workers/tools/*/wrangler.toml", { cwd: ROOT }).sort(),
    ...globSync("queues/*/wrangler.toml", { cwd: ROOT }).sort(),
    "workers/orchestrator/wrangler.toml",
    "wrangler.toml",
  ];
  if (!dryRun) {
    console.log("applying D1 migrations (remote)");
    wrangler(["d1", "migrations", "apply", "DB", "--remote", "-c", "wrangler.toml"]);
  }
  for (const config of order) {
    console.log(`${dryRun ? "bundling" : "deploying"} ${config}`);
    wrangler(["deploy", "-c", config, ...(dryRun ? ["--dry-run", "--outdir", `${ROOT}/dist/${config.replace(/[/.]+/g, "_")}`] : [])]);
  }
}
