/**
 * The scopes of the key a call came with, read here rather than carried in the call: chats arrive from the
 * gateway, session sockets, queued tasks and batch lines, and each would have to carry them. A key that no
 * longer holds has none (the gateway and the queue consumers refuse its calls; one may be in flight).
 *
 * Kept per isolate for CIO_KEY_CACHE_TTL_S (at most 30 s, as the gateway keeps its key lookups): every
 * `cio/auto` call asks, and a D1 read beside the cached tool registry put D1's round trip on each answer's
 * path. A revoked key loses its scopes here within the same 30 s the gateway stops admitting it in.
 */
import { keyStanding } from "../../../../lib/db/key-limits.js";
import type { CallContext } from "../../../../lib/protocol/index.js";

type Entry = { scopes: string[]; expires: number };
const cache = new Map<string, Entry>();
/** One isolate serves many keys; the oldest entry goes first past this. */
const MAX_KEYS = 10_000;

/**
 * Only answers are kept, never a pending read: calls sharing one read waited on I/O begun in another request's
 * context, which the runtime may cancel with that request (a client that left), leaving every call of the key
 * in the isolate waiting on it (the gateway's limiter calls were once shared so, with that effect). Concurrent
 * first calls of a key each read D1.
 */
export async function callerScopes(db: D1Database, call: Pick<CallContext, "tenantId" | "keyId">, ttlS: number, now = Date.now()): Promise<string[]> {
  // By tenant and key: a key id is only ever looked up under the tenant the call names.
  const id = `${call.tenantId}\u0000${call.keyId}`;
  const hit = cache.get(id);
  if (hit && hit.expires > now) return hit.scopes;
  const standing = await keyStanding(db, call.tenantId, call.keyId);
  const scopes = standing.status === "ok" ? standing.scopes : [];
  if (ttlS <= 0) return scopes;
  cache.delete(id);
  if (cache.size >= MAX_KEYS) cache.delete(cache.keys().next().value!);
  cache.set(id, { scopes, expires: now + ttlS * 1000 });
  return scopes;
}
