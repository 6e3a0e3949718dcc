import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * Where rows of the listed tables (files, tasks, sessions) stood before they were deleted: a list's `after`
 * cursor is the last id of the page before, and OpenAI's clients delete as they list (`for await (const f of
 * client.files.list()) await client.files.delete(f.id)`), so the next page's cursor named a row just deleted,
 * and the list answered 400 "Unknown cursor". Written with the deletion (lib/db/deleted-rows.ts), read only
 * by lib/db/pages.ts, and purged by the orchestrator's hourly housekeeping after CIO_DELETED_CURSOR_TTL_S.
 */
export const deletedRows = sqliteTable(
  "deleted_rows",
  {
    /** The table the row was in (`files`, `tasks`, `sessions`). */
    tableName: text("table_name").notNull(),
    tenantId: text("tenant_id").notNull(),
    id: text("id").notNull(),
    /** The row's created_at: its place in the list. */
    createdAt: integer("created_at").notNull(),
    deletedAt: integer("deleted_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.tableName, t.tenantId, t.id] }), index("deleted_rows_deleted").on(t.deletedAt)],
);
