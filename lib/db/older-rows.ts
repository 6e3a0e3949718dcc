/**
 * Deletes a table's rows created before a time, a page at a time, by its (tenant_id, created_at) index. A
 * plain `created_at < ?` cannot use that index (tenant_id comes first) and would scan the whole table each
 * page; so the tenants are walked one by one (each the next tenant_id above the last, one index seek each)
 * and each tenant's old rows are a range of the index.
 */
import type { Logger } from "../log.js";
import { deletePages } from "../heavy/sweep.js";

/** Tables with a (tenant_id, created_at) index that the hourly housekeeping prunes by age. */
export type AgedTable = "agent_continuations" | "tool_calls" | "tool_feedback";

/** Rows deleted per statement: one D1 write each, well within its limits. */
const PAGE = 1_000;

const pageDelete = (table: AgedTable) => `DELETE FROM ${table} WHERE rowid IN (
  WITH RECURSIVE tenants(id) AS (
    SELECT MIN(tenant_id) FROM ${table}
    UNION ALL SELECT (SELECT MIN(tenant_id) FROM ${table} WHERE tenant_id > tenants.id) FROM tenants WHERE tenants.id IS NOT NULL
  )
  SELECT x.rowid FROM tenants CROSS JOIN ${table} x WHERE x.tenant_id = tenants.id AND x.created_at < ?1 LIMIT ?2
)`;

/** Deletes up to `max` rows of `table` created before `before`; returns how many it deleted. */
export async function deleteOlderRows(d1: D1Database, log: Logger, table: AgedTable, before: number, max: number): Promise<number> {
  const stmt = d1.prepare(pageDelete(table));
  const deleted = await deletePages(max, PAGE, async (limit) => (await stmt.bind(before, limit).run()).meta.changes);
  if (deleted) log.info("old rows deleted", { table, rows: deleted });
  return deleted;
}
