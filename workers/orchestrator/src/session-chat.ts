/**
 * A chat completion that names a `session_id` is answered by that session's Durable Object, which puts the
 * session's history before the request's messages and records the turn. The object is addressed by the
 * caller's tenant, so another tenant's session id reaches an empty object and answers 404.
 */
import { stubFor } from "../../../lib/do-names.js";
import { ChatCallSchema, sessionObjectName, type ChatReply } from "../../../lib/protocol/index.js";
import type { OrchestratorEnv } from "./env.js";

export async function chatInSession(env: OrchestratorEnv, raw: unknown): Promise<ChatReply | null> {
  const parsed = ChatCallSchema.safeParse(raw);
  const sessionId = parsed.success ? parsed.data.body.session_id : undefined;
  if (!parsed.success || !sessionId) return null;
  // RPC typing cannot map zod's loose objects (index signatures), so the reply is typed by its declaration.
  return (await stubFor(env.SESSIONS, sessionObjectName(parsed.data.tenantId, sessionId)).chatCompletion(parsed.data)) as unknown as ChatReply;
}
