/**
 * `npm start`: the whole stack on one port, offline, with no Cloudflare account. Applies the D1
 * migrations, makes sure a dev tenant and key exist, runs every Worker, Durable Object and queue in one
 * `wrangler dev --local`, and prints the URL, the key and a curl example once the gateway answers.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import {
  ROOT,
  TOOL_ENV,
  WRANGLER,
  applyMigrations,
  devCredentials,
  ensureDevTenant,
  skippedConfigs,
  stateDir,
  workerConfigs,
  writeDevVars,
} from "./lib/local-stack.ts";

if (existsSync(join(ROOT, ".env"))) process.loadEnvFile(join(ROOT, ".env"));
const port = Number(process.env.PORT ?? 8787);
const state = stateDir();
const creds = devCredentials(state);

log("applying D1 migrations");
applyMigrations(state);
ensureDevTenant(state, creds);
writeDevVars(creds);

const args = ["dev", "--local", "--port", String(port), "--ip", "127.0.0.1", "--persist-to", state, "--show-interactive-dev-session=false"];
for (const c of workerConfigs()) args.push("-c", c);
log(`starting ${workerConfigs().length} Workers`);
for (const c of skippedConfigs()) log(`not starting ${c}: Workers AI needs CLOUDFLARE_API_TOKEN, even locally`);
const child = spawn(WRANGLER, args, { cwd: ROOT, stdio: ["ignore", "inherit", "inherit"], env: TOOL_ENV });

let stopping = false;
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    if (stopping) return;
    stopping = true;
    log("stopping");
    child.kill("SIGINT");
    setTimeout(() => child.kill("SIGKILL"), 5000).unref();
  });
}
child.on("exit", (code) => process.exit(stopping ? 0 : (code ?? 1)));

await waitUntilReady(`http://127.0.0.1:${port}`);
const url = `http://127.0.0.1:${port}`;
console.log(`
CIO Edge is running at ${url}
  API key:      ${creds.apiKey}
  Admin token:  ${creds.adminToken}
  API docs:     ${url}/docs

  curl ${url}/v1/chat/completions \\
    -H "Authorization: Bearer ${creds.apiKey}" -H "Content-Type: application/json" \\
    -d '{"model":"cio/auto","messages":[{"role":"user","content":"Hello!"}]}'

READY ${url}
`);

async function waitUntilReady(base: string) {
  for (let i = 0; i < 600; i++) {
    if (stopping) return;
    try {
      const r = await fetch(`${base}/health/deep`);
      if (r.ok) return;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error("the local stack did not become healthy within 150 s");
}

function log(msg: string) {
  console.log(JSON.stringify({ ts: new Date().toISOString(), level: "info", component: "start", msg }));
}
