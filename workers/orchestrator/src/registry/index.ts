/**
 * The registry as the agent loop sees it: the tools a tenant may use (enabled, and public or on its
 * allow-list) with the tenant's statistics for each. Both are read in one D1 batch and kept per isolate
 * (see tenantTools), so a hot path costs no database round trip. The first read in an isolate
 * seeds the registry from the bindings.
 */
import { and, eq, inArray, or } from "drizzle-orm";
import { openDb, schema } from "../../../../lib/db/index.js";
import { grantToolStatement, upsertHttpsTool } from "../../../../lib/db/tool-registry.js";
import type { Logger } from "../../../../lib/log.js";
import { ToolManifestSchema } from "../../../../lib/protocol/tool.js";
import { parametersProblem } from "../../../../lib/tools/parameters-schema.js";
import type { ToolStatsRow } from "../../../../d1-migrations/schema/tools.js";
import type { OrchestratorEnv } from "../env.js";
import type { OrchestratorSettings } from "../settings.js";
import { seedRegistry } from "./seed.js";
import type { RegisteredTool } from "./transports.js";

export type { RegisteredTool } from "./transports.js";

export interface TenantTools {
  tools: RegisteredTool[];
  stats: Map<string, ToolStatsRow>;
}

interface Cached {
  at: number;
  value: TenantTools;
  refreshing: boolean;
}

/**
 * Values, never promises: a request must not await a promise another request made (its code would resume
 * in that request's context, where the runtime refuses its I/O; see the gateway's rate-limit middleware).
 * Requests that find nothing load for themselves, so a cold isolate may read D1 a few times at once.
 */
const cache = new Map<string, Cached>();
let seeded = false;

/**
 * A snapshot younger than CIO_REGISTRY_TTL_MS is served as is. An older one is still served, once, while the
 * next loads beside the call (kept alive by `waitUntil`), so no answer waits for D1 after the first: a
 * registry change reaches this isolate within the TTL plus one request. TTL 0 turns the cache off.
 */
export async function tenantTools(env: OrchestratorEnv, s: OrchestratorSettings, tenantId: string, log: Logger, waitUntil?: (p: Promise<unknown>) => void, now = Date.now()): Promise<TenantTools> {
  const hit = s.CIO_REGISTRY_TTL_MS > 0 ? cache.get(tenantId) : undefined;
  if (hit) touch(tenantId, hit);
  if (hit && now - hit.at < s.CIO_REGISTRY_TTL_MS) return hit.value;
  if (!hit) return remember(s, tenantId, await load(env, tenantId, log));
  if (!hit.refreshing) {
    hit.refreshing = true;
    const done = load(env, tenantId, log).then(
      (value) => void remember(s, tenantId, value),
      (err) => ((hit.refreshing = false), log.warn("the tool registry could not be refreshed; serving the last snapshot", { err })),
    );
    waitUntil?.(done);
  }
  return hit.value;
}

function remember(s: OrchestratorSettings, tenantId: string, value: TenantTools): TenantTools {
  if (s.CIO_REGISTRY_TTL_MS <= 0) return value;
  touch(tenantId, { at: Date.now(), value, refreshing: false });
  // A Map iterates in insertion order, and `touch` re-inserts: the first key is the least recently used.
  while (cache.size > s.CIO_REGISTRY_CACHE_TENANTS) cache.delete(cache.keys().next().value!);
  return value;
}

/** Marks the tenant most recently used. */
function touch(tenantId: string, entry: Cached) {
  cache.delete(tenantId);
  cache.set(tenantId, entry);
}

/** Forget what this isolate knows about a tenant's tools (after a registry change it made itself). */
export const forgetTenantTools = (tenantId?: string) => (tenantId ? cache.delete(tenantId) : cache.clear());

async function load(env: OrchestratorEnv, tenantId: string, log: Logger): Promise<TenantTools> {
  if (!seeded) {
    // Each request that finds the isolate unseeded seeds (an idempotent upsert); a failure is retried next time.
    seeded = await seedRegistry(env, log).then(
      () => true,
      (err) => (log.error("the tool registry could not be seeded", { err }), false),
    );
  }
  const db = openDb(env.DB);
  const t = schema.tools;
  const granted = db.select({ name: schema.toolGrants.toolName }).from(schema.toolGrants).where(eq(schema.toolGrants.tenantId, tenantId));
  const [rows, stats] = await db.batch([
    db.select().from(t).where(and(eq(t.enabled, true), or(eq(t.public, true), inArray(t.name, granted)))).orderBy(t.name),
    db.select().from(schema.toolStats).where(eq(schema.toolStats.tenantId, tenantId)),
  ]);
  const tools: RegisteredTool[] = [];
  for (const r of rows) {
    const manifest = ToolManifestSchema.safeParse(r.manifest);
    if (!manifest.success) {
      log.warn("a registered tool has an invalid manifest; it is left out", { tool: r.name });
      continue;
    }
    // Registered before POST /admin/tools checked schemas: offered, it would cost the model a round per call
    // (the dispatcher refuses every call of it, invalid_tool_schema), so it is not offered at all.
    const problem = parametersProblem(manifest.data.parameters);
    if (problem) log.error("a registered tool's parameters schema cannot be used; it is left out", { tool: r.name, problem });
    else tools.push({ name: r.name, transport: r.transport, target: r.target, manifest: manifest.data });
  }
  return { tools, stats: new Map(stats.map((x) => [x.toolName, x])) };
}

/** Registers (or updates) a tool reached over HTTPS; without an allow-list entry a private one is offered to nobody. */
export const registerHttpsTool = (env: OrchestratorEnv, url: string, manifest: unknown, opts: { public?: boolean } = {}) =>
  upsertHttpsTool(openDb(env.DB), { url, manifest, public: opts.public ?? true });

export const grantTool = (env: OrchestratorEnv, tenantId: string, toolName: string) => grantToolStatement(openDb(env.DB), tenantId, toolName);
