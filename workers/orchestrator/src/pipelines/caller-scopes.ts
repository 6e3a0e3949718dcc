/**
 * The scopes of the key a call came with, read here rather than carried in the call: chats arrive from the
 * gateway, session sockets, queued tasks and batch lines, and each would have to carry them. A key that no
 * longer holds has none (the gateway and the queue consumers refuse its calls; one may be in flight).
 */
import { keyStanding } from "../../../../lib/db/key-limits.js";
import type { CallContext } from "../../../../lib/protocol/index.js";

export async function callerScopes(db: D1Database, call: Pick<CallContext, "tenantId" | "keyId">): Promise<string[]> {
  const standing = await keyStanding(db, call.tenantId, call.keyId);
  return standing.status === "ok" ? standing.scopes : [];
}
