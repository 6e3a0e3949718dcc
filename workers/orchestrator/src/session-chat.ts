/**
 * A chat completion that names a `session_id` is answered by that session's Durable Object, which puts the
 * session's history before the request's messages and records the turn. The object is addressed by the
 * caller's tenant, so another tenant's session id reaches an empty object and answers 404.
 */
import { sessionExists } from "../../../lib/db/sessions.js";
import { stubFor } from "../../../lib/do-names.js";
import { notFound } from "../../../lib/errors.js";
import { Logger } from "../../../lib/log.js";
import { sessionObjectName, type ChatCall, type ChatReply } from "../../../lib/protocol/index.js";
import type { OrchestratorEnv } from "./env.js";
import { settleLogged } from "./usage.js";

export async function chatInSession(env: OrchestratorEnv, call: ChatCall): Promise<ChatReply | null> {
  const sessionId = call.body.session_id;
  if (!sessionId) return null;
  // An unknown id is answered without its object: addressing one creates it (lib/db/sessions.ts).
  if (!(await sessionExists(env.DB, call.tenantId, sessionId))) {
    // No pipeline runs, so nothing else frees the slot the gateway reserved for this call. A limiter that
    // cannot be reached leaves it to the lease's expiry, logged; the caller still gets the 404 it is owed.
    await settleLogged(env, new Logger({ component: "orchestrator", requestId: call.requestId, tenantId: call.tenantId }), call.tenantId, call.leaseId, call.body.model);
    const missing = notFound(`No session with id '${sessionId}'.`, "session_not_found");
    return { kind: "error", error: { ...missing.toJSON(), error: { ...missing.toBody().error, param: "session_id" } }, upstreamMs: 0 };
  }
  // RPC typing cannot map zod's loose objects (index signatures), so the reply is typed by its declaration.
  return (await stubFor(env.SESSIONS, sessionObjectName(call.tenantId, sessionId)).chatCompletion(call)) as unknown as ChatReply;
}
