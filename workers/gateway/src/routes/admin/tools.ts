/**
 * The tool registry for operators: list it, register an HTTPS tool (a service in any language answering
 * POST <url>/execute, signed with its own secret, which registering answers with: lib/tools/signature.ts),
 * switch a tool off or make it private, and keep
 * each tenant's allow-list of private tools. Tools bound to the orchestrator are seeded, not registered.
 * The orchestrator's isolates see a change within CIO_REGISTRY_TTL_MS.
 */
import { eq, gt } from "drizzle-orm";
import { z } from "zod";
import { openDb, schema, type Db } from "../../../../../lib/db/index.js";
import { listBy } from "../../../../../lib/db/pages.js";
import { grantToolStatement, httpsToolUpsert, revokeToolStatement } from "../../../../../lib/db/tool-registry.js";
import { badRequest, notFound } from "../../../../../lib/errors.js";
import { ToolManifestSchema } from "../../../../../lib/protocol/tool.js";
import type { ToolRow } from "../../../../../d1-migrations/schema/tools.js";
import { router } from "../../validation.js";
import { auditRow } from "./audit.js";
import { AdminPageQuerySchema } from "./schemas.js";
import { getTenant } from "./tenants.js";
import { adminRoute, json, PageSchema } from "../openapi.js";

const ToolSchema = z
  .object({ name: z.string(), object: z.literal("tool"), transport: z.string(), target: z.string(), enabled: z.boolean(), public: z.boolean(), version: z.string(), description: z.string() })
  .meta({ id: "Tool" });
const RegisteredToolSchema = ToolSchema.extend({
  signing_secret: z.string().nullable().describe("the secret this tool verifies x-cio-signature with; null while CIO_TOOL_HMAC_SECRET is unset"),
}).meta({ id: "RegisteredTool" });
const ToolCreateSchema = z
  .object({
    url: z.url({ protocol: /^https?$/ }).describe("base URL; the tool answers POST <url>/execute"),
    manifest: ToolManifestSchema,
    public: z.boolean().optional().describe("offered to every tenant (else only to those granted it); absent: a new tool is private, a registered one keeps its visibility"),
  })
  .strict()
  .meta({ id: "ToolCreate" });
const ToolPatchSchema = z.object({ enabled: z.boolean().optional(), public: z.boolean().optional() }).strict();
const NameParam = z.object({ name: z.string() });
const GrantParam = z.object({ id: z.string(), name: z.string() });

const toolView = (t: ToolRow) => {
  const m = ToolManifestSchema.safeParse(t.manifest);
  return { name: t.name, object: "tool" as const, transport: t.transport, target: t.target, enabled: t.enabled, public: t.public, version: m.success ? m.data.version : "?", description: m.success ? m.data.description : "" };
};

async function getTool(db: Db, name: string): Promise<ToolRow> {
  const [t] = await db.select().from(schema.tools).where(eq(schema.tools.name, name)).limit(1);
  if (!t) throw notFound(`No tool '${name}'.`, "tool_not_found");
  return t;
}

/** Plain HTTP only to this machine (local development); anything else must be HTTPS. */
function checkUrl(url: string) {
  const u = new URL(url);
  if (u.protocol !== "https:" && !["127.0.0.1", "localhost", "[::1]"].includes(u.hostname)) throw badRequest("Tool URLs must use https (plain http only for localhost).", "url");
}

const list = adminRoute("get", "/admin/tools", "List the tool registry, a page at a time", {
  request: { query: AdminPageQuerySchema },
  responses: { 200: { description: "A page of tools by name; pass the last name (`last_id`) as `after` for the next", ...json(PageSchema(ToolSchema)) } },
});
const create = adminRoute("post", "/admin/tools", "Register (or update) an HTTPS tool", {
  request: { body: { required: true, ...json(ToolCreateSchema) } },
  responses: { 201: { description: "The tool, with the secret it verifies calls with", ...json(RegisteredToolSchema) } },
});
const patch = adminRoute("patch", "/admin/tools/{name}", "Switch a tool on or off, or make it public or private", {
  request: { params: NameParam, body: { required: true, ...json(ToolPatchSchema) } },
  responses: { 200: { description: "The tool", ...json(ToolSchema) } },
});
const grant = adminRoute("put", "/admin/tenants/{id}/tools/{name}", "Allow a tenant a private tool", { request: { params: GrantParam }, responses: { 200: { description: "The tool", ...json(ToolSchema) } } });
const revoke = adminRoute("delete", "/admin/tenants/{id}/tools/{name}", "Withdraw a private tool from a tenant", { request: { params: GrantParam }, responses: { 200: { description: "The tool", ...json(ToolSchema) } } });

export const tools = router()
  .openapi(list, async (c) => {
    const { limit, after } = c.req.valid("query");
    const t = schema.tools;
    const rows = await openDb(c.env.DB).select().from(t).where(after ? gt(t.name, after) : undefined).orderBy(t.name).limit(limit + 1);
    return c.json(listBy(rows.slice(0, limit).map(toolView), rows.length > limit, (tool) => tool.name), 200);
  })
  .openapi(create, async (c) => {
    const b = c.req.valid("json");
    checkUrl(b.url);
    const db = openDb(c.env.DB);
    // Asked of the orchestrator, not only read from D1: the registry is seeded by the first chat after a deploy.
    const served = await c.env.ORCHESTRATOR.servedToolNames(c.get("requestId"));
    const { manifest: m, statement } = await httpsToolUpsert(db, b, served);
    await db.batch([statement, auditRow(db, c, null, "tool.register", m.name, { url: b.url, public: b.public })]);
    const signing_secret = await c.env.ORCHESTRATOR.toolSigningSecret(m.name);
    return c.json({ ...toolView(await getTool(db, m.name)), signing_secret }, 201);
  })
  .openapi(patch, async (c) => {
    const { name } = c.req.valid("param");
    const b = c.req.valid("json");
    const db = openDb(c.env.DB);
    await getTool(db, name);
    if (b.enabled !== undefined || b.public !== undefined) {
      await db.batch([
        db.update(schema.tools).set(b).where(eq(schema.tools.name, name)),
        auditRow(db, c, null, "tool.update", name, b),
      ]);
    }
    return c.json(toolView(await getTool(db, name)), 200);
  })
  .openapi(grant, async (c) => {
    const { id, name } = c.req.valid("param");
    const db = openDb(c.env.DB);
    await getTenant(db, id);
    const t = await getTool(db, name);
    await db.batch([grantToolStatement(db, id, name), auditRow(db, c, id, "tool.grant", name)]);
    return c.json(toolView(t), 200);
  })
  .openapi(revoke, async (c) => {
    const { id, name } = c.req.valid("param");
    const db = openDb(c.env.DB);
    await getTenant(db, id);
    const t = await getTool(db, name);
    await db.batch([revokeToolStatement(db, id, name), auditRow(db, c, id, "tool.revoke", name)]);
    return c.json(toolView(t), 200);
  });
