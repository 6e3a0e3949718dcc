/**
 * A chat completion that names a `session_id` is answered by that session's Durable Object, which puts the
 * session's history before the request's messages and records the turn. The object is addressed by the
 * caller's tenant, so another tenant's session id reaches an empty object and answers 404.
 */
import { stubFor } from "../../../lib/do-names.js";
import { sessionObjectName, type ChatCall, type ChatReply } from "../../../lib/protocol/index.js";
import type { OrchestratorEnv } from "./env.js";

export async function chatInSession(env: OrchestratorEnv, call: ChatCall): Promise<ChatReply | null> {
  const sessionId = call.body.session_id;
  if (!sessionId) return null;
  // RPC typing cannot map zod's loose objects (index signatures), so the reply is typed by its declaration.
  return (await stubFor(env.SESSIONS, sessionObjectName(call.tenantId, sessionId)).chatCompletion(call)) as unknown as ChatReply;
}
