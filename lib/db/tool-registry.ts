/**
 * Writes to the tool registry, shared by the admin API (gateway) and the orchestrator's own code and
 * tests. RPC and local tools come from the orchestrator's bindings (seeded); only HTTPS tools are
 * registered by hand, and they may never take over the name of a bound tool.
 */
import { and, eq, sql } from "drizzle-orm";
import { ApiError } from "../errors.js";
import { ToolManifestSchema, type ToolManifest } from "../protocol/tool.js";
import { schema, type Db } from "./index.js";

/**
 * The manifest and the statement that registers (or re-points) an HTTPS tool, not yet run: the admin API
 * runs it in one batch with its audit row, so a tool never goes live unrecorded.
 */
export async function httpsToolUpsert(db: Db, url: string, manifest: unknown, isPublic: boolean) {
  const m = ToolManifestSchema.parse(manifest);
  const t = schema.tools;
  const [existing] = await db.select({ transport: t.transport }).from(t).where(eq(t.name, m.name)).limit(1);
  if (existing && existing.transport !== "https") {
    throw new ApiError(409, "invalid_request_error", `The tool '${m.name}' is served by this deployment (${existing.transport}); choose another name.`, "tool_name_taken", "manifest.name");
  }
  const statement = db
    .insert(t)
    .values({ name: m.name, transport: "https", target: url, manifest: m, public: isPublic })
    .onConflictDoUpdate({ target: t.name, set: { target: url, manifest: m, public: isPublic, updatedAt: sql`(unixepoch('subsec') * 1000)` } });
  return { manifest: m, statement };
}

export async function upsertHttpsTool(db: Db, url: string, manifest: unknown, isPublic: boolean): Promise<ToolManifest> {
  const { manifest: m, statement } = await httpsToolUpsert(db, url, manifest, isPublic);
  await statement;
  return m;
}

export const grantToolStatement = (db: Db, tenantId: string, toolName: string) =>
  db.insert(schema.toolGrants).values({ tenantId, toolName }).onConflictDoNothing();

export const revokeToolStatement = (db: Db, tenantId: string, toolName: string) =>
  db.delete(schema.toolGrants).where(and(eq(schema.toolGrants.tenantId, tenantId), eq(schema.toolGrants.toolName, toolName)));
