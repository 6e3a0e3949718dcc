/** The session's row in D1's `sessions` index, kept by the session itself (created, used, deleted). */
import { and, eq } from "drizzle-orm";
import { deleteListed } from "../../lib/db/deleted-rows.js";
import { openDb, schema } from "../../lib/db/index.js";
import type { SessionMeta } from "./store.js";

const t = schema.sessions;
const own = (m: SessionMeta) => and(eq(t.tenantId, m.tenantId), eq(t.id, m.sessionId));

export async function insertIndexRow(db: D1Database, m: SessionMeta) {
  await openDb(db).insert(t).values({ tenantId: m.tenantId, id: m.sessionId, title: m.title, model: m.model, createdAt: m.createdAt, lastActiveAt: m.lastActiveAt });
}

export async function touchIndexRow(db: D1Database, m: SessionMeta) {
  await openDb(db).update(t).set({ lastActiveAt: m.lastActiveAt }).where(own(m));
}

/**
 * Remembering where it stood in the list first (deleted-rows.ts), so a client deleting sessions as it lists them
 * goes on. Two statements in turn rather than a batch: a place remembered for a row still there is harmless
 * (a cursor finds the row first), and a failed remember leaves the row to delete again.
 */
export async function deleteIndexRow(d1: D1Database, m: SessionMeta) {
  const [remember, remove] = deleteListed(openDb(d1), t, own(m));
  await remember;
  await remove;
}
