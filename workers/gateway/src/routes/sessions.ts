/**
 * /v1/sessions: create, list (from the D1 index), read, delete, messages, and tickets for browser sockets.
 * Every session is reached through the caller's tenant (sessionObjectName), so another tenant's id is a 404.
 */
import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { and, eq, gt, lt } from "drizzle-orm";
import { newId, newSecret, sha256Hex } from "../../../../lib/crypto.js";
import { recordAudit } from "../../../../lib/db/audit.js";
import { openDb, schema } from "../../../../lib/db/index.js";
import { listOf, pageOf } from "../../../../lib/db/pages.js";
import { sessionExists } from "../../../../lib/db/sessions.js";
import { stubFor } from "../../../../lib/do-names.js";
import { badRequest, conflict, notFound } from "../../../../lib/errors.js";
import { sessionObjectName } from "../../../../lib/protocol/index.js";
import {
  CreateSessionSchema,
  ListMessagesQuerySchema,
  ListSessionsQuerySchema,
  SessionMessageSchema,
  SessionSchema,
  TicketSchema,
} from "../../../../lib/protocol/session.js";
import type { GatewayApp, GatewayEnv } from "../env.js";
import { requireScope } from "../middleware/auth.js";
import { router, validationError } from "../validation.js";
import { requireModel } from "./models.js";
import { byKey } from "./key-audit.js";
import { errorBody, json, keyRoute, PageSchema } from "./openapi.js";

const errors = { 400: errorBody("Invalid request"), 404: errorBody("No such session") };
const IdParam = z.object({ id: z.string().min(1).max(128) });
const SessionListItemSchema = SessionSchema.omit({ last_seq: true });

const stub = (c: Context<GatewayApp>, id: string) => sessionStub(c.env.SESSIONS, c.get("auth").tenantId, id);
export const sessionStub = (ns: GatewayEnv["SESSIONS"], tenantId: string, id: string) => stubFor(ns, sessionObjectName(tenantId, id));
const ref = (c: Context<GatewayApp>, sessionId: string) => ({ tenantId: c.get("auth").tenantId, sessionId });
const missing = (id: string) => notFound(`No session with id '${id}'.`, "session_not_found");
/** The session's object, once D1's index knows the id (lib/db/sessions.ts: a probe must create no object). */
async function known(c: Context<GatewayApp>, id: string) {
  if (!(await sessionExists(c.env.DB, c.get("auth").tenantId, id))) throw missing(id);
  return stub(c, id);
}

const r = router();
// The body is a named component, referenced from the route below: a schema inlined with its own `$defs` and
// `#/$defs/…` references would point at the document's root under OpenAPI 3.1, where nothing resolves them.
r.openAPIRegistry.register("CreateSession", CreateSessionSchema);
r.use("/v1/sessions", requireScope("sessions"));
r.use("/v1/sessions/*", requireScope("sessions"));

export const sessions = r
  .openapi(
    keyRoute("post", "/v1/sessions", "Create a chat session", {
      // Declared as a reference, not zod, so no validator runs before the handler: the body is optional, and
      // an SDK's POST with `content-type: application/json` and nothing after it is a session with defaults.
      request: { body: { required: false, content: { "application/json": { schema: { $ref: "#/components/schemas/CreateSession" } } } } },
      responses: { 201: { description: "The session", ...json(SessionSchema) }, ...errors },
    }),
    async (c) => {
      const text = (await c.req.text()).trim();
      let body: unknown = {};
      try {
        if (text) body = JSON.parse(text);
      } catch {
        throw badRequest("Malformed JSON in request body.");
      }
      const parsed = CreateSessionSchema.safeParse(body);
      if (!parsed.success) throw validationError(parsed.error);
      if (parsed.data.model !== undefined) await requireModel(c.env, parsed.data.model, "model");
      const id = newId("sess");
      const session = await stub(c, id).create({ ...ref(c, id), title: parsed.data.title ?? null, model: parsed.data.model ?? "cio/auto" });
      if (!session) throw conflict("A session with this id already exists; retry.", "session_exists");
      return c.json(session, 201);
    },
  )
  .openapi(
    keyRoute("get", "/v1/sessions", "List chat sessions, newest first", {
      request: { query: ListSessionsQuerySchema },
      responses: {
        200: {
          description: "A page of sessions; pass the last id as `after` for the next",
          ...json(PageSchema(SessionListItemSchema)),
        },
        ...errors,
      },
    }),
    async (c) => {
      const { limit, after } = c.req.valid("query");
      const page = await pageOf(c.env.DB, schema.sessions, { tenantId: c.get("auth").tenantId, limit, after, noun: "session" });
      const data = page.rows.map((r) => ({ id: r.id, object: "session" as const, title: r.title, model: r.model, created_at: r.createdAt, last_active_at: r.lastActiveAt }));
      return c.json(listOf(data, page.hasMore), 200);
    },
  )
  .openapi(
    keyRoute("get", "/v1/sessions/{id}", "Read a chat session", {
      request: { params: IdParam },
      responses: { 200: { description: "The session", ...json(SessionSchema) }, ...errors },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const session = await (await known(c, id)).info(ref(c, id));
      if (!session) throw missing(id);
      return c.json(session, 200);
    },
  )
  .openapi(
    keyRoute("delete", "/v1/sessions/{id}", "Delete a chat session, its history and its sockets", {
      request: { params: IdParam },
      responses: { 200: { description: "Deleted", ...json(z.object({ id: z.string(), object: z.literal("session.deleted"), deleted: z.literal(true) })) }, ...errors },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      if (!(await (await known(c, id)).remove(ref(c, id)))) throw missing(id);
      await recordAudit(c.env.DB, byKey(c, "session.delete", id), c.get("log"));
      return c.json({ id, object: "session.deleted" as const, deleted: true as const }, 200);
    },
  )
  .openapi(
    keyRoute("get", "/v1/sessions/{id}/messages", "A session's messages, oldest first; pass the last seq as `after` for the next page", {
      request: { params: IdParam, query: ListMessagesQuerySchema },
      responses: {
        200: { description: "A page of messages", ...json(z.object({ object: z.literal("list"), data: z.array(SessionMessageSchema), has_more: z.boolean() })) },
        ...errors,
      },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const { limit, after } = c.req.valid("query");
      const page = await (await known(c, id)).messages(ref(c, id), after, limit);
      if (!page) throw missing(id);
      return c.json({ object: "list" as const, ...page }, 200);
    },
  )
  .openapi(
    keyRoute("post", "/v1/sessions/{id}/ticket", "A one-time ticket for a browser to open the session's WebSocket", {
      request: { params: IdParam },
      responses: { 201: { description: "Pass it as `?ticket=` once, within its lifetime", ...json(TicketSchema) }, ...errors },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const auth = c.get("auth");
      if (!(await (await known(c, id)).info(ref(c, id)))) throw missing(id);
      const ticket = newSecret("wst_");
      const now = Date.now();
      const expiresAt = now + c.get("settings").CIO_SESSION_TICKET_TTL_S * 1000;
      const t = schema.sessionTickets;
      const db = openDb(c.env.DB);
      await db.batch([
        db.insert(t).values({ hash: await sha256Hex(ticket), tenantId: auth.tenantId, sessionId: id, keyId: auth.keyId, expiresAt }),
        db.delete(t).where(lt(t.expiresAt, now)),
      ]);
      return c.json({ ticket, expires_at: expiresAt }, 201);
    },
  );

/** Redeems a ticket: deleting its row is the redemption, so two uses race for one row and one loses. */
export async function redeemTicket(d1: D1Database, ticket: string, now = Date.now()) {
  const t = schema.sessionTickets;
  const [row] = await openDb(d1)
    .delete(t)
    .where(and(eq(t.hash, await sha256Hex(ticket)), gt(t.expiresAt, now)))
    .returning();
  return row ?? null;
}
