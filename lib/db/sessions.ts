/**
 * Whether a tenant has a session of that id, from D1's `sessions` index (durable-objects/session/index-row.ts:
 * written before the session object, deleted before it is wiped). Asked before reaching the object, because
 * merely addressing an unknown id creates a Durable Object with storage: a probe must change nothing.
 */
import { and, eq } from "drizzle-orm";
import { openDb, schema } from "./index.js";

export async function sessionExists(d1: D1Database, tenantId: string, id: string): Promise<boolean> {
  const t = schema.sessions;
  const row = await openDb(d1).select({ id: t.id }).from(t).where(and(eq(t.tenantId, tenantId), eq(t.id, id))).get();
  return row !== undefined;
}
