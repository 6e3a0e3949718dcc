/**
 * One page of a tenant's rows (of all rows, for the admin lists), newest first (oldest first with `order: "asc"`), as OpenAI's list endpoints page
 * them: `after` is the last id of the previous page. The cursor is the (created_at, id) pair, so rows created in the same millisecond are
 * neither skipped nor repeated at a page's edge, and one row more than asked tells whether more follow. A cursor
 * naming a row deleted since the page before (the client deleting what it lists, a sweep) keeps the place the
 * row had, from `deleted_rows` (deleted-rows.ts); only an id that never was one is unknown.
 */
import { and, asc, desc, eq, gt, lt, or, type SQL } from "drizzle-orm";
import type { SQLiteColumn, SQLiteTable } from "drizzle-orm/sqlite-core";
import { badRequest } from "../errors.js";
import { deletedPlace, type Listed } from "./deleted-rows.js";
import { openDb, type Db } from "./index.js";

type Paged = SQLiteTable & { id: SQLiteColumn; createdAt: SQLiteColumn };

export interface PageQuery {
  tenantId: string;
  limit: number;
  after?: string | undefined;
  /** Further conditions (a purpose, a status). */
  filter?: SQL | undefined;
  /** What a row is, for the error on an unknown cursor. */
  noun: string;
  /** By creation time: "desc" (newest first, the default) or "asc". */
  order?: "asc" | "desc" | undefined;
}

export async function pageOf<T extends Listed>(d1: D1Database, t: T, q: PageQuery): Promise<{ rows: T["$inferSelect"][]; hasMore: boolean }> {
  const deleted = (db: Db, id: string) => deletedPlace(db, t, q.tenantId, id);
  return pageWithin(d1, t, eq(t.tenantId, q.tenantId), q, deleted);
}

/**
 * A page of the rows of `t` that `scope` selects (all of them when it is undefined: the admin lists, of rows
 * never deleted); `deleted` finds where a row named by the cursor stood once it is gone.
 */
export async function pageWithin<T extends Paged>(
  d1: D1Database,
  t: T,
  scope: SQL | undefined,
  q: Omit<PageQuery, "tenantId">,
  deleted?: (db: Db, id: string) => Promise<{ createdAt: unknown } | undefined>,
): Promise<{ rows: T["$inferSelect"][]; hasMore: boolean }> {
  const db = openDb(d1);
  const [past, by] = q.order === "asc" ? [gt, asc] : [lt, desc];
  let where = and(scope, q.filter);
  if (q.after) {
    const [live] = await db.select({ createdAt: t.createdAt }).from(t as SQLiteTable).where(and(scope, eq(t.id, q.after)));
    const cur = live ?? (await deleted?.(db, q.after));
    if (!cur) throw badRequest(`Unknown cursor '${q.after}': pass the id of a ${q.noun} from the previous page.`, "after");
    where = and(where, or(past(t.createdAt, cur.createdAt), and(eq(t.createdAt, cur.createdAt), past(t.id, q.after))));
  }
  const rows = (await db.select().from(t as SQLiteTable).where(where).orderBy(by(t.createdAt), by(t.id)).limit(q.limit + 1)) as T["$inferSelect"][];
  return { rows: rows.slice(0, q.limit), hasMore: rows.length > q.limit };
}

/** OpenAI's list envelope around a page. */
export const listOf = <T extends { id: string }>(data: T[], hasMore: boolean) => listBy(data, hasMore, (x) => x.id);

/** The envelope of a page whose items are known by something else than an id (a tool by its name). */
export const listBy = <T>(data: T[], hasMore: boolean, idOf: (item: T) => string) => ({
  object: "list" as const,
  data,
  has_more: hasMore,
  first_id: data.length ? idOf(data[0]!) : null,
  last_id: data.length ? idOf(data.at(-1)!) : null,
});
