/** The session's row in D1's `sessions` index, kept by the session itself (created, used, deleted). */
import { and, eq } from "drizzle-orm";
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

export async function deleteIndexRow(db: D1Database, m: SessionMeta) {
  await openDb(db).delete(t).where(own(m));
}
