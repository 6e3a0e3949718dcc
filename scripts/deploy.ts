/**
 * `npm run deploy`: makes sure what the Workers bind exists (the D1 database, whose id is then written into
 * every wrangler.toml that binds it; the queues; the R2 buckets), applies the D1 migrations remotely, and
 * deploys every Worker after the Workers it binds (the order comes from the configs: lib/deploy-plan.ts).
 * Needs CLOUDFLARE_API_TOKEN (and CLOUDFLARE_ACCOUNT_ID) in env. `--dry-run` prints that plan and bundles
 * every Worker without an account or uploading, which CI-style checks can use offline. The orchestrator and
 * the heavy consumer get the Workers AI binding (lib/deploy-ai.ts) unless `--no-ai` is given, and the
 * orchestrator its binding to the media tool (which `npm start` runs only with an account).
 */
import { deployableConfig } from "./lib/deploy-ai.ts";
import { databaseUsers, deployPlan } from "./lib/deploy-plan.ts";
import { ensureBucket, ensureQueue, syncDatabaseIds } from "./lib/deploy-resources.ts";
import { ROOT, wrangler } from "./lib/local-stack.ts";

const dryRun = process.argv.includes("--dry-run");
const ai = !process.argv.includes("--no-ai");
if (!dryRun && !process.env.CLOUDFLARE_API_TOKEN) {
  console.error("Set CLOUDFLARE_API_TOKEN (and CLOUDFLARE_ACCOUNT_ID) to deploy, or pass --dry-run.");
  process.exitCode = 1;
} else {
  const workers = deployPlan(ai);
  const queues = [...new Set(workers.flatMap((w) => w.queues))];
  const buckets = [...new Set(workers.flatMap((w) => w.buckets))];
  if (dryRun) {
    for (const [name, users] of databaseUsers(workers)) console.log(`D1 database ${name}: its id goes into ${users.map((w) => w.config).join(", ")}`);
    console.log(`queues: ${queues.join(", ")}; R2 buckets: ${buckets.join(", ")}`);
  } else {
    syncDatabaseIds(workers);
    queues.forEach(ensureQueue);
    buckets.forEach(ensureBucket);
    console.log("applying D1 migrations (remote)");
    wrangler(["d1", "migrations", "apply", "DB", "--remote", "-c", "wrangler.toml"]);
  }
  console.log(`order: ${workers.map((w) => w.name).join(", ")}`);
  for (const { config } of workers) {
    // Written again: syncDatabaseIds may have put the D1 id into `config` since the plan was read.
    const deployed = deployableConfig(config, ai);
    console.log(`${dryRun ? "bundling" : "deploying"} ${config}${deployed === config ? "" : ` (from ${deployed}, with the bindings only a deployment gets)`}`);
    wrangler(["deploy", "-c", deployed, ...(dryRun ? ["--dry-run", "--outdir", `${ROOT}/dist/${config.replace(/[/.]+/g, "_")}`] : [])]);
  }
}
