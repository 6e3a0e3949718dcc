/**
 * A call to a client tool ends the turn half-way: the client runs its tool and sends the conversation
 * back. What the client never saw — our own tool calls of that turn and their results — would be gone by
 * then, and the model would answer (or call our tools again) without them. So such a turn is kept in D1
 * under its first client call's id, and when the client's history echoes that call, the echo is replaced
 * by the turn as the model saw it. The client's history wins wherever it differs from what we kept.
 * The key also holds a digest of the calls' names and arguments: some servers number their calls
 * (`functions.get_weather:0`, sglang and vLLM serving Kimi K2), so two conversations of a tenant could pause
 * on the same id, and one's turn was kept while the other's was lost, or put into the other's context.
 * A turn is kept for the API key whose call made it, and only that key's echo is replaced: the turn holds
 * what our tools returned, and another key of the tenant may not hold the scope to read it (a chat-only key
 * repeating the calls of a key with `runners` would otherwise read the on-prem database's rows).
 */
import { and, eq, inArray, lt } from "drizzle-orm";
import { openDb, schema } from "../../../../lib/db/index.js";
import type { ChatMessage } from "../../../../lib/protocol/index.js";
import type { ModelToolCall } from "../providers/provider.js";

type Echo = Extract<ChatMessage, { role: "assistant" }>;
type Signature = { id: string; name: string }[];
type Call = { id: string; name: string; arguments: string };
/** Whose turns: the tenant and the API key of the call (a session turn's key is the one that sent it). */
type Owner = { tenantId: string; keyId: string; ttlMs: number };

const signature = (calls: Call[]): Signature => calls.map((c) => ({ id: c.id, name: c.name }));
const callsOf = (m: Echo & { tool_calls: NonNullable<Echo["tool_calls"]> }): Call[] =>
  m.tool_calls.map((c) => (c.type === "function" ? { id: c.id, name: c.function.name, arguments: c.function.arguments } : { id: c.id, name: c.custom.name, arguments: c.custom.input }));

/** The row's key: the first call's id and a digest of every call's name and arguments. */
async function keyOf(calls: Call[]): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(JSON.stringify(calls.map((c) => [c.name, c.arguments]))));
  const hex = [...new Uint8Array(digest).slice(0, 12)].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${calls[0]!.id}#${hex}`;
}
const echoed = (m: ChatMessage): m is Echo & { tool_calls: NonNullable<Echo["tool_calls"]> } => m.role === "assistant" && !!m.tool_calls?.length;

/** Keeps `turn` (this request's messages after the client's history) when it holds anything the client will not echo. */
export async function saveTurn(d1: D1Database, k: Owner & { requestId: string }, turn: ChatMessage[], clientCalls: ModelToolCall[]): Promise<void> {
  if (!clientCalls.length || !turn.some((m) => m.role === "tool")) return;
  const db = openDb(d1);
  const t = schema.agentContinuations;
  await db.batch([
    db
      .insert(t)
      .values({ tenantId: k.tenantId, keyId: k.keyId, callId: await keyOf(clientCalls), requestId: k.requestId, clientCalls: signature(clientCalls), turn })
      // The same calls again (a repeated request, a server that numbers its ids): the newest turn is the one echoed next.
      .onConflictDoUpdate({ target: [t.tenantId, t.keyId, t.callId], set: { requestId: k.requestId, turn, createdAt: Date.now() } }),
    // Expired turns go as new ones come, so the table stays the size of the conversations in flight.
    db.delete(t).where(and(eq(t.tenantId, k.tenantId), lt(t.createdAt, Date.now() - k.ttlMs))),
  ]);
}

/** Call ids per lookup: D1 binds at most 100 parameters a statement, and the tenant and key take two. */
const IDS_PER_LOOKUP = 90;

/**
 * The client's history with every echo of a kept turn replaced by that turn. One round trip, only when there
 * are echoes (a long agent conversation has hundreds: their lookups go in one batch of statements).
 */
export async function restoreTurns(d1: D1Database, k: Owner, messages: ChatMessage[]): Promise<ChatMessage[]> {
  const keys = new Map<ChatMessage, string>();
  for (const m of messages) if (echoed(m)) keys.set(m, await keyOf(callsOf(m)));
  const ids = [...new Set(keys.values())];
  if (!ids.length) return messages;
  const db = openDb(d1);
  const t = schema.agentContinuations;
  const lookup = (chunk: string[]) =>
    db.select({ callId: t.callId, clientCalls: t.clientCalls, turn: t.turn, createdAt: t.createdAt }).from(t).where(and(eq(t.tenantId, k.tenantId), eq(t.keyId, k.keyId), inArray(t.callId, chunk)));
  const chunks = Array.from({ length: Math.ceil(ids.length / IDS_PER_LOOKUP) }, (_, i) => lookup(ids.slice(i * IDS_PER_LOOKUP, (i + 1) * IDS_PER_LOOKUP)));
  const rows = (await db.batch(chunks as [(typeof chunks)[number], ...(typeof chunks)[number][]])).flat();
  if (!rows.length) return messages;
  const fresh = new Map(rows.filter((r) => r.createdAt >= Date.now() - k.ttlMs).map((r) => [r.callId, r]));
  return messages.flatMap((m) => {
    if (!echoed(m)) return [m];
    const kept = fresh.get(keys.get(m)!);
    const same = kept && JSON.stringify(kept.clientCalls) === JSON.stringify(signature(callsOf(m)));
    return same ? (kept.turn as ChatMessage[]) : [m];
  });
}
