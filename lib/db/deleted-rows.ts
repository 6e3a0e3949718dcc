/**
 * Deleting rows of a listed table (files, tasks, sessions) so that a list's cursor naming one still finds its
 * place: each row's id and created_at go to `deleted_rows` in the same batch, and pageWithin (pages.ts) reads
 * them when the row itself is gone. The hourly housekeeping forgets them after CIO_DELETED_CURSOR_TTL_S.
 */
import { and, eq, getTableName, lt, sql, type SQL } from "drizzle-orm";
import type { SQLiteColumn, SQLiteTable } from "drizzle-orm/sqlite-core";
import type { Logger } from "../log.js";
import { openDb, schema, type Db } from "./index.js";

export type Listed = SQLiteTable & { id: SQLiteColumn; tenantId: SQLiteColumn; createdAt: SQLiteColumn };

const d = schema.deletedRows;

/**
 * The statements that delete the rows of `t` that `where` selects, remembering where they stood first: run
 * both, in this order, in one batch (with whatever else the deletion writes).
 */
export function deleteListed(db: Db, t: Listed, where: SQL | undefined, now = Date.now()) {
  // and() is typed as possibly undefined; without a condition this would empty the table.
  if (!where) throw new Error(`deleteListed(${getTableName(t)}) needs a condition`);
  const place = db
    .select({ tableName: sql<string>`${getTableName(t)}`.as("table_name"), tenantId: t.tenantId, id: t.id, createdAt: t.createdAt, deletedAt: sql<number>`${now}`.as("deleted_at") })
    .from(t as SQLiteTable)
    .where(where);
  // A session's id may be used again once the session is deleted: the place of its last deletion counts.
  const remember = db
    .insert(d)
    .select(place)
    .onConflictDoUpdate({ target: [d.tableName, d.tenantId, d.id], set: { createdAt: sql`excluded.created_at`, deletedAt: sql`excluded.deleted_at` } });
  return [remember, db.delete(t).where(where)] as const;
}

/** Where the tenant's row `id` of `t` stood before it was deleted, while that is remembered. */
export async function deletedPlace(db: Db, t: Listed, tenantId: string, id: string): Promise<{ createdAt: number } | undefined> {
  const [row] = await db.select({ createdAt: d.createdAt }).from(d).where(and(eq(d.tableName, getTableName(t)), eq(d.tenantId, tenantId), eq(d.id, id)));
  return row;
}

/**
 * Forgets the deletions made before `before` (a cursor naming one of those rows is unknown again); returns how
 * many. One statement, not pages as the sweeps take: the rows are small, found by their deleted_at index, and
 * an hour's worth at a time.
 */
export async function forgetDeletedRows(d1: D1Database, log: Logger, before: number): Promise<number> {
  const { meta } = await openDb(d1).delete(d).where(lt(d.deletedAt, before));
  if (meta.changes) log.info("deleted rows forgotten", { rows: meta.changes });
  return meta.changes;
}
