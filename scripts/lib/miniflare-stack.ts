/**
 * The same Workers as `npm start`, served by Miniflare directly instead of `wrangler dev`. wrangler dev
 * puts a development proxy and an inspector in front of workerd that cap a trivial route at about a
 * hundred requests a second here; production has neither, so the benchmarks measure our code this way.
 * Miniflare itself routes every request through an entry Worker of its own; the benchmarks call the gateway
 * (and the floor Workers they compare with) on a direct socket instead, as production has no such hop: it cost
 * a bare proxy Worker 45% of its requests a second at 50 connections (1,500 against 2,700).
 * The state folder has the layout wrangler uses, so `wrangler d1 migrations apply --persist-to` fills it.
 */
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { ROOT, workerOptions } from "./bundle.ts";
import { applyMigrations, devCredentials, ensureDevTenant, workerConfigs, type DevCredentials } from "./local-stack.ts";

export interface MiniflareStack extends DevCredentials {
  url: string;
  /** The DevTools endpoint; each Worker named in `inspect` is at `${inspectorUrl}/${name}`. */
  inspectorUrl: string | null;
  stop(): Promise<void>;
}

/** `inspect`: Workers whose isolate a benchmark reads through the DevTools protocol (their heap, say). */
export async function startMiniflareStack(opts: { port: number; stateDir: string; vars?: Record<string, string>; inspect?: { port: number; workers: string[] } }): Promise<MiniflareStack> {
  const creds = devCredentials(opts.stateDir);
  applyMigrations(opts.stateDir);
  ensureDevTenant(opts.stateDir, creds);
  const vars = { ...opts.vars, CIO_ADMIN_TOKEN: creds.adminToken };
  const outRoot = join(opts.stateDir, "bundles");
  const workers = workerConfigs()
    .map((c) => workerOptions(c, { vars }, outRoot))
    .map((w) => (opts.inspect?.workers.includes(w.name as string) ? { ...w, unsafeInspectorProxy: true } : w))
    .map((w, i) => (i === 0 ? { ...w, unsafeDirectSockets: [DIRECT_SOCKET] } : w)); // the gateway comes first
  const { Miniflare, convertV4MiniflareOptions } = await wranglersMiniflare();
  // wrangler's reader emits the flat (v4) option shape; Miniflare 5 takes it through its converter.
  const mf = new Miniflare(convertV4MiniflareOptions({
    host: "127.0.0.1",
    port: opts.port,
    resourcePersistencePath: join(opts.stateDir, "v3"),
    ...(opts.inspect ? { inspectorPort: opts.inspect.port } : {}),
    workers: workers as never,
  }));
  const url = await directUrl(mf, workers[0]!.name as string);
  const inspectorUrl = opts.inspect ? (await mf.getInspectorURL()).toString() : null;
  return { ...creds, url, inspectorUrl, stop: () => mf.dispose() };
}

/** A socket straight to a Worker, on a free port: no Miniflare entry Worker in front. */
const DIRECT_SOCKET = { host: "127.0.0.1", port: 0 };

/** Where `worker` (the first one by default) answers on its direct socket, once Miniflare is ready. */
async function directUrl(mf: import("miniflare").Miniflare, worker?: string): Promise<string> {
  await mf.ready;
  return (await mf.unsafeGetDirectURL(worker)).toString().replace(/\/$/, "");
}

/** The Miniflare wrangler itself uses: its worker options match that version's schema exactly. */
async function wranglersMiniflare(): Promise<typeof import("miniflare")> {
  const fromWrangler = createRequire(join(ROOT, "node_modules/wrangler/package.json"));
  return import(pathToFileURL(fromWrangler.resolve("miniflare")).href);
}

/**
 * The floor of this runtime: one Worker that forwards the request body to `upstream` and returns the
 * answer, served the same way. A benchmark row for it shows what any Worker costs here before our code.
 */
export function startBareProxy(port: number, upstream: string): Promise<{ url: string; stop(): Promise<void> }> {
  return startBareWorker(port, `export default { fetch(req) { return fetch(${JSON.stringify(upstream)}, { method: "POST", body: req.body, headers: { "content-type": "application/json" } }); } }`);
}

/**
 * The floor of the shape issue #2 asks for, with none of our code: a front Worker reserves a slot in a Durable
 * Object, calls a second Worker over a service binding (RPC), and that one forwards the body to `upstream`
 * and frees the slot after answering. What this costs beyond `startBareProxy` no implementation of that
 * shape can avoid on this runtime.
 */
export async function startBareGatewayShape(port: number, upstream: string): Promise<{ url: string; stop(): Promise<void> }> {
  const back = `import { DurableObject, WorkerEntrypoint } from "cloudflare:workers";
export class Slots extends DurableObject { n = 0; reserve() { return ++this.n; } release() { this.n--; } }
export default class Back extends WorkerEntrypoint {
  async chat(body) {
    const res = await fetch(${JSON.stringify(upstream)}, { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" } });
    const answer = await res.json();
    this.ctx.waitUntil(this.env.SLOTS.get(this.env.SLOTS.idFromName("tenant")).release());
    return answer;
  }
}`;
  const front = `export default { async fetch(req, env) {
  const body = await req.json();
  await env.SLOTS.get(env.SLOTS.idFromName("tenant")).reserve();
  return Response.json(await env.BACK.chat(body));
} }`;
  const { Miniflare, convertV4MiniflareOptions } = await wranglersMiniflare();
  const common = { modules: true, compatibilityDate: "2026-11-01" };
  const mf = new Miniflare(convertV4MiniflareOptions({
    host: "127.0.0.1",
    port,
    workers: [
      { ...common, name: "front", script: front, serviceBindings: { BACK: "back" }, durableObjects: { SLOTS: { className: "Slots", scriptName: "back" } }, unsafeDirectSockets: [DIRECT_SOCKET] },
      { ...common, name: "back", script: back, durableObjects: { SLOTS: "Slots" } },
    ],
  }));
  const url = await directUrl(mf, "front");
  return { url, stop: () => mf.dispose() };
}

/** A one-module Worker (`script`, with vars as bindings) served like our stack: a floor for a benchmark to compare with. */
export async function startBareWorker(port: number, script: string, vars: Record<string, string> = {}): Promise<{ url: string; stop(): Promise<void> }> {
  const { Miniflare, convertV4MiniflareOptions } = await wranglersMiniflare();
  const mf = new Miniflare(convertV4MiniflareOptions({ host: "127.0.0.1", port, modules: true, script, bindings: vars, compatibilityDate: "2026-11-01", unsafeDirectSockets: [DIRECT_SOCKET] }));
  const url = await directUrl(mf);
  return { url, stop: () => mf.dispose() };
}
