/**
 * The sweep of expired files (OpenAI's `expires_after`, a batch's `output_expires_after`): their content
 * leaves R2, then their rows leave D1. An expired file is already gone for every new use (files.ts
 * `unexpired`); this frees the storage, once no work accepted before the expiry still reads it. Content
 * first, rows after: a run that stops between the two leaves rows that are already unusable, and the next
 * run deletes them (an R2 delete of a missing key is harmless).
 */
import { and, eq } from "drizzle-orm";
import { deleteListed } from "../db/deleted-rows.js";
import { openDb, schema } from "../db/index.js";
import type { Logger } from "../log.js";
import { sweepPages } from "./sweep.js";

const f = schema.files;
/** R2 deletes at most 1,000 keys per call; D1 batches stay well within their limits at this size. */
const PAGE = 500;

/** Work accepted earlier still reads file `f`: the input of a batch not yet ended, or an analysis queued or running. */
const IN_USE = `(EXISTS (SELECT 1 FROM batches b WHERE b.tenant_id = f.tenant_id AND b.input_file_id = f.id
    AND b.status IN ('validating', 'in_progress', 'finalizing', 'cancelling'))
  OR EXISTS (SELECT 1 FROM tasks t WHERE t.tenant_id = f.tenant_id AND t.type = 'file_analysis'
    AND t.status IN ('queued', 'running') AND json_extract(t.params, '$.file_id') = f.id))`;

/** Whether work accepted earlier still reads the tenant's file, so it may not be deleted yet. */
export async function fileInUse(d1: D1Database, tenantId: string, fileId: string): Promise<boolean> {
  const row = await d1.prepare(`SELECT 1 AS used FROM files f WHERE f.tenant_id = ?1 AND f.id = ?2 AND ${IN_USE}`).bind(tenantId, fileId).first();
  return row !== null;
}

/**
 * Expired files, oldest expiry first, except those work accepted before they expired still reads. Their turn
 * comes once that work ends.
 */
async function expiredNotInUse(d1: D1Database, now: number, limit: number) {
  const { results } = await d1
    .prepare(
      `SELECT f.tenant_id AS tenantId, f.id AS id, f.r2_key AS r2Key FROM files f
       WHERE f.expires_at IS NOT NULL AND f.expires_at <= ?1 AND NOT ${IN_USE}
       ORDER BY f.expires_at LIMIT ?2`,
    )
    .bind(now, limit)
    .all<{ tenantId: string; id: string; r2Key: string }>();
  return results;
}

export async function sweepExpiredFiles(env: { DB: D1Database; FILES: R2Bucket }, log: Logger, maxFiles: number, now = Date.now()): Promise<number> {
  const swept = await sweepPages(maxFiles, PAGE, (limit) => expiredNotInUse(env.DB, now, limit), async (rows) => {
    await env.FILES.delete(rows.map((r) => r.r2Key));
    const db = openDb(env.DB);
    const [first, ...rest] = rows.flatMap((r) => deleteListed(db, f, and(eq(f.tenantId, r.tenantId), eq(f.id, r.id))));
    await db.batch([first!, ...rest]);
  });
  if (swept) log.info("expired files deleted", { files: swept });
  return swept;
}
