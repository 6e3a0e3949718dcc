/**
 * Seeds the registry from what this deployment is wired to: every service binding named TOOL_* (asked
 * for its manifest over RPC) and every local tool. An operator's choices (enabled, public) survive a
 * re-seed (unless they were made for an HTTPS tool that held the name); only the manifest and the way to
 * reach the tool are refreshed. A new tool is public, media too:
 * what its calls spend on Workers AI is booked to the calling tenant and held against its daily budget
 * (dispatcher/spending.ts), so offering it to every tenant costs each tenant only its own budget, as image
 * tasks do; an operator who wants it for some tenants only makes it private and grants it.
 */
import { and, eq, inArray, sql } from "drizzle-orm";
import { openDb, schema } from "../../../../lib/db/index.js";
import type { Logger } from "../../../../lib/log.js";
import { ToolManifestSchema, type ToolManifest } from "../../../../lib/protocol/tool.js";
import { parametersProblem } from "../../../../lib/tools/parameters-schema.js";
import type { OrchestratorEnv } from "../env.js";
import { LOCAL_TOOLS } from "../tools/local.js";
import type { RegisteredTool, ToolService } from "./transports.js";

const TOOL_BINDING = /^TOOL_[A-Z0-9_]+$/;

/**
 * Our tools that only read or compute (quotes, searches, GETs, indicators, read-only SQL): called again
 * after a dropped connection, they do no harm. Their manifests do not say so yet (the field is new); a
 * manifest that does wins. Not media (each call generates, and pays for, an image) nor analyze_file (each
 * call starts a task).
 */
const READ_ONLY = new Set(["market-data", "web-search", "http-json", "technical-analysis", "sql"]);
const marked = (m: ToolManifest): ToolManifest => ({ ...m, idempotent: m.idempotent ?? READ_ONLY.has(m.name) });

/**
 * Service bindings have fetch(); a Durable Object namespace such as TOOL_BREAKERS has not. (`in` cannot
 * tell them apart: an RPC stub claims every property.)
 */
function toolBindings(env: OrchestratorEnv): [string, ToolService][] {
  return Object.entries(env as unknown as Record<string, unknown>).filter(
    (e): e is [string, ToolService] => TOOL_BINDING.test(e[0]) && typeof (e[1] as { fetch?: unknown } | null)?.fetch === "function",
  );
}

/**
 * For /health/deep: every bound tool Worker answers its manifest now, not from the registry's cached
 * snapshot, which leaves a failing binding out and so never showed it failing. Throws naming each that did not.
 */
export async function checkToolWorkers(env: OrchestratorEnv): Promise<void> {
  const bindings = toolBindings(env);
  const results = await Promise.allSettled(bindings.map(async ([, svc]) => ToolManifestSchema.parse(await svc.manifest())));
  const failed = results.flatMap((r, i) => (r.status === "rejected" ? [`${bindings[i]![0]}: ${String(r.reason).slice(0, 200)}`] : []));
  if (failed.length) throw new Error(`tool Workers not answering: ${failed.join("; ")}`);
}

export async function discoverTools(env: OrchestratorEnv, log: Logger): Promise<RegisteredTool[]> {
  const remote = await Promise.all(
    toolBindings(env).map(async ([binding, svc]) => {
      try {
        const manifest = marked(ToolManifestSchema.parse(await svc.manifest()));
        return { name: manifest.name, transport: "rpc" as const, target: binding, manifest };
      } catch (err) {
        log.warn("a tool binding did not answer its manifest; it is left out", { binding, err });
        return null;
      }
    }),
  );
  const local = LOCAL_TOOLS.map((t) => ({ name: t.manifest.name, transport: "local" as const, target: t.manifest.name, manifest: marked(t.manifest) }));
  return [...remote.filter((t) => t !== null), ...local];
}

/**
 * The names of the tools this deployment serves itself, asked of the bindings now (not read from the
 * registry, which the first chat seeds): POST /admin/tools refuses them, so an HTTPS registration made
 * before that seed cannot claim a built-in's name.
 */
export async function servedToolNames(env: OrchestratorEnv, log: Logger): Promise<string[]> {
  return (await discoverTools(env, log)).map((t) => t.name);
}

const t = schema.tools;

/**
 * On a row an HTTPS registration held, the built-in's defaults (the values the insert carries): the
 * operator's choices were made for another service (a private tool for a few tenants would otherwise
 * withdraw the built-in from everyone). Elsewhere the operator's own. SET reads the row as it was.
 */
const defaultIfWasHttps = (c: typeof t.public | typeof t.enabled) => sql`CASE WHEN ${t.transport} = 'https' THEN excluded.${sql.identifier(c.name)} ELSE ${c} END`;

/** A tool whose schema the dispatcher cannot use would fail every call: it is left out, as an invalid manifest is. */
function usable(tool: RegisteredTool, log: Logger): boolean {
  const problem = parametersProblem(tool.manifest.parameters);
  if (problem) log.error("a bound tool's parameters schema cannot be used; it is left out", { tool: tool.name, target: tool.target, problem });
  return problem === null;
}

export async function seedRegistry(env: OrchestratorEnv, log: Logger): Promise<void> {
  const found = (await discoverTools(env, log)).filter((f) => usable(f, log));
  if (!found.length) return;
  const db = openDb(env.DB);
  // Read in the write's batch (one transaction), so it names exactly the rows the write takes over.
  const [takenOver] = await db.batch([
    db.select({ name: t.name, url: t.target }).from(t).where(and(eq(t.transport, "https"), inArray(t.name, found.map((f) => f.name)))),
    db
      .insert(t)
      .values(found.map((f) => ({ name: f.name, transport: f.transport, target: f.target, manifest: f.manifest })))
      .onConflictDoUpdate({
        target: t.name,
        set: {
          transport: sql`excluded.transport`,
          target: sql`excluded.target`,
          manifest: sql`excluded.manifest`,
          enabled: defaultIfWasHttps(t.enabled),
          public: defaultIfWasHttps(t.public),
          updatedAt: sql`excluded.updated_at`,
        },
      }),
  ]);
  for (const r of takenOver) {
    log.error("an HTTPS tool was registered under the name of a tool this deployment serves; the built-in takes the name back, with its defaults, and the HTTPS tool is no longer called", { tool: r.name, url: r.url });
  }
}
