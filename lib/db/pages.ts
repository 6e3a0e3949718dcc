/**
 * One page of a tenant's rows, newest first (oldest first with `order: "asc"`), as OpenAI's list endpoints page
 * them: `after` is the last id of the previous page. The cursor is the (created_at, id) pair, so rows created in the same millisecond are
 * neither skipped nor repeated at a page's edge, and one row more than asked tells whether more follow.
 */
import { and, asc, desc, eq, gt, lt, or, type SQL } from "drizzle-orm";
import type { SQLiteColumn, SQLiteTable } from "drizzle-orm/sqlite-core";
import { badRequest } from "../errors.js";
import { openDb } from "./index.js";

type Listed = SQLiteTable & { tenantId: SQLiteColumn; id: SQLiteColumn; createdAt: SQLiteColumn };

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
  const db = openDb(d1);
  const [past, by] = q.order === "asc" ? [gt, asc] : [lt, desc];
  let where = and(eq(t.tenantId, q.tenantId), q.filter);
  if (q.after) {
    const [cur] = await db.select({ createdAt: t.createdAt }).from(t as SQLiteTable).where(and(eq(t.tenantId, q.tenantId), eq(t.id, q.after)));
    if (!cur) throw badRequest(`Unknown cursor '${q.after}': pass the id of a ${q.noun} from the previous page.`, "after");
    where = and(where, or(past(t.createdAt, cur.createdAt), and(eq(t.createdAt, cur.createdAt), past(t.id, q.after))));
  }
  const rows = (await db.select().from(t as SQLiteTable).where(where).orderBy(by(t.createdAt), by(t.id)).limit(q.limit + 1)) as T["$inferSelect"][];
  return { rows: rows.slice(0, q.limit), hasMore: rows.length > q.limit };
}

/** OpenAI's list envelope around a page. */
export const listOf = <T extends { id: string }>(data: T[], hasMore: boolean) => ({
  object: "list" as const,
  data,
  has_more: hasMore,
  first_id: data[0]?.id ?? null,
  last_id: data.at(-1)?.id ?? null,
});
