/**
 * GET /v1/sessions/:id/ws: authenticates the client and hands the upgrade to the session's Durable Object.
 * Server clients send their API key in `Authorization`; browsers cannot set headers on a WebSocket, so they
 * pass a one-time ticket (POST /v1/sessions/:id/ticket) as `?ticket=`. Registered before the API-key
 * middleware, since a ticket is its own credential.
 */
import { z } from "@hono/zod-openapi";
import { sessionExists } from "../../../../lib/db/sessions.js";
import { ApiError, forbidden, notFound, unauthorized, type ErrorType } from "../../../../lib/errors.js";
import { SOCKET_HEADERS, type SocketLimits } from "../../../../lib/protocol/session.js";
import type { Context } from "hono";
import type { AuthContext, GatewayApp } from "../env.js";
import { limitDefaults, lookupKeyById } from "../keys.js";
import { apiKeyAuth, hasScope } from "../middleware/auth.js";
import { router } from "../validation.js";
import { errorBody, keyRoute } from "./openapi.js";
import { redeemTicket, sessionStub } from "./sessions.js";

const route = keyRoute("get", "/v1/sessions/{id}/ws", "Open the session's WebSocket (JSON frames; see the session protocol)", {
  request: { params: z.object({ id: z.string().min(1).max(128) }), query: z.object({ ticket: z.string().optional() }) },
  responses: {
    101: { description: "Switching protocols; the first frame is `ready`" },
    401: errorBody("Missing or invalid API key or ticket"),
    404: errorBody("No such session"),
    426: errorBody("Not a WebSocket upgrade"),
    429: errorBody("Too many sockets on the session or the organization"),
  },
});

export const sessionSocket = router().openapi(route, async (c) => {
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
    throw new ApiError(426, "invalid_request_error", "This endpoint only speaks WebSocket: send 'Upgrade: websocket'.", "upgrade_required");
  }
  const { id } = c.req.valid("param");
  const { ticket } = c.req.valid("query");
  const { tenantId, keyId, limits, scopes } = ticket !== undefined ? await byTicket(c, ticket, id) : await byApiKey(c);
  if (ticket !== undefined) c.set("log", c.get("log").child({ tenantId })); // the key's auth middleware did it otherwise
  const settings = c.get("settings");
  // The defaults go along so the session resolves the key's limits as we do when it re-reads them from D1.
  const socketLimits: SocketLimits = { ...limits, leaseTtlMs: settings.CIO_LEASE_TTL_MS, defaults: limitDefaults(settings) };
  // An unknown id is answered here: addressing its object would create one (lib/db/sessions.ts).
  if (!(await sessionExists(c.env.DB, tenantId, id))) throw notFound(`No session with id '${id}'.`, "session_not_found");
  const res = await sessionStub(c.env.SESSIONS, tenantId, id).fetch("https://session.internal/ws", {
    headers: {
      upgrade: "websocket",
      [SOCKET_HEADERS.tenant]: tenantId,
      [SOCKET_HEADERS.session]: id,
      [SOCKET_HEADERS.key]: keyId,
      [SOCKET_HEADERS.request]: c.get("requestId"),
      [SOCKET_HEADERS.limits]: JSON.stringify(socketLimits),
      // Turns call models, as chat completions do: a sessions-only key ran them over its socket.
      [SOCKET_HEADERS.mayChat]: hasScope(scopes, "chat") ? "1" : "0",
    },
  });
  if (res.status !== 101 || !res.webSocket) throw await asApiError(res);
  // A fresh response: the object's has immutable headers, and ours get x-request-id and CORS added.
  return new Response(null, { status: 101, webSocket: res.webSocket }) as never;
});

/** A ticket stands for the key that asked for it: that key must still be valid when the ticket is used. */
async function byTicket(c: Context<GatewayApp>, ticket: string, sessionId: string): Promise<AuthContext> {
  const row = await redeemTicket(c.env.DB, ticket);
  // A ticket is bound to one session; a mismatch is treated like an unknown ticket (it is spent either way).
  if (!row || row.sessionId !== sessionId) throw unauthorized("Invalid, used or expired ticket. Ask POST /v1/sessions/{id}/ticket for a new one.");
  return currentKey(c, row.keyId, row.tenantId, "The API key that asked for this ticket was revoked.");
}

/**
 * Read again from D1, past the per-isolate cache: a socket lives long, and one opened from another isolate's
 * cache entry of a key revoked moments before kept working until its first key check (up to ~60 s after the
 * revoke, where a request stops within 30 s). Upgrades are rare enough for the extra query.
 */
async function byApiKey(c: Context<GatewayApp>): Promise<AuthContext> {
  await apiKeyAuth()(c, async () => {});
  const cached = c.get("auth");
  const auth = await currentKey(c, cached.keyId, cached.tenantId, "This API key was revoked.");
  if (!hasScope(auth.scopes, "sessions")) throw forbidden("This API key lacks the 'sessions' scope.");
  return auth;
}

/** The key as D1 has it now, past the per-isolate cache: still the tenant's, not revoked, the tenant active. */
async function currentKey(c: Context<GatewayApp>, keyId: string, tenantId: string, revoked: string): Promise<AuthContext> {
  const key = await lookupKeyById(c.env.DB, keyId, c.get("settings"));
  if (!key || key.tenantId !== tenantId) throw unauthorized(revoked);
  if (key.tenantStatus !== "active") throw forbidden("This tenant is suspended.", "tenant_suspended");
  return key;
}

async function asApiError(res: Response): Promise<ApiError> {
  const body = (await res.json().catch(() => null)) as { error?: { type: ErrorType; message: string; code: string | null } } | null;
  const e = body?.error;
  const headers: Record<string, string> = {};
  const retry = res.headers.get("retry-after");
  if (retry) headers["retry-after"] = retry;
  return new ApiError(res.status, e?.type ?? "server_error", e?.message ?? "The session did not accept the socket.", e?.code ?? null, null, headers);
}
