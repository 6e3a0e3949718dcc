/**
 * Writes to the tool registry, shared by the admin API (gateway) and the orchestrator's own code and
 * tests. RPC and local tools come from the orchestrator's bindings (seeded); only HTTPS tools are
 * registered by hand, and they may never take over the name of a bound tool.
 */
import { and, eq, sql } from "drizzle-orm";
import { ApiError, badRequest } from "../errors.js";
import { ToolManifestSchema, type ToolManifest } from "../protocol/tool.js";
import { parametersProblem } from "../tools/parameters-schema.js";
import { schema, type Db } from "./index.js";

/** An HTTPS tool to register, or a registered one to re-point. */
export interface HttpsToolRegistration {
  url: string;
  manifest: unknown;
  /**
   * Offered to every tenant, or only to those on its allow-list. Absent: a new tool is private, and a
   * registered one keeps what it was (re-registering to update a manifest must not withdraw a public tool).
   */
  public?: boolean;
}

/**
 * The manifest and the statement that registers (or re-points) an HTTPS tool, not yet run: the admin API
 * runs it in one batch with its audit row, so a tool never goes live unrecorded. `served`: the names the
 * deployment's bindings answer to now, refused even before the registry's first seed has written them.
 */
export async function httpsToolUpsert(db: Db, reg: HttpsToolRegistration, served: readonly string[] = []) {
  const m = ToolManifestSchema.parse(reg.manifest);
  // Registered, a schema the dispatcher cannot use would fail every call to the tool.
  const problem = parametersProblem(m.parameters);
  if (problem) throw badRequest(`The manifest's parameters are not a JSON Schema calls can be checked with: ${problem}`, "manifest.parameters", "invalid_tool_schema");
  const t = schema.tools;
  const [existing] = await db.select({ transport: t.transport }).from(t).where(eq(t.name, m.name)).limit(1);
  if (served.includes(m.name) || (existing && existing.transport !== "https")) {
    throw new ApiError(409, "invalid_request_error", `The tool '${m.name}' is served by this deployment; choose another name.`, "tool_name_taken", "manifest.name");
  }
  const visibility = reg.public === undefined ? {} : { public: reg.public };
  const statement = db
    .insert(t)
    .values({ name: m.name, transport: "https", target: reg.url, manifest: m, public: reg.public ?? false })
    .onConflictDoUpdate({ target: t.name, set: { target: reg.url, manifest: m, ...visibility, updatedAt: sql`(unixepoch('subsec') * 1000)` } });
  return { manifest: m, statement };
}

export async function upsertHttpsTool(db: Db, reg: HttpsToolRegistration): Promise<ToolManifest> {
  const { manifest: m, statement } = await httpsToolUpsert(db, reg);
  await statement;
  return m;
}

export const grantToolStatement = (db: Db, tenantId: string, toolName: string) =>
  db.insert(schema.toolGrants).values({ tenantId, toolName }).onConflictDoNothing();

export const revokeToolStatement = (db: Db, tenantId: string, toolName: string) =>
  db.delete(schema.toolGrants).where(and(eq(schema.toolGrants.tenantId, tenantId), eq(schema.toolGrants.toolName, toolName)));
