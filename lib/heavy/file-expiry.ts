/**
 * The sweep of expired files (OpenAI's `expires_after`, a batch's `output_expires_after`): their content
 * leaves R2, then their rows leave D1. An expired file is already gone for every use (files.ts `unexpired`);
 * this frees the storage. Content first, rows after: a run that stops between the two leaves rows that are
 * already unusable, and the next run deletes them (an R2 delete of a missing key is harmless).
 */
import { and, asc, eq, isNotNull, lte } from "drizzle-orm";
import { openDb, schema } from "../db/index.js";
import type { Logger } from "../log.js";

const f = schema.files;
/** R2 deletes at most 1,000 keys per call; D1 batches stay well within their limits at this size. */
const PAGE = 500;

export async function sweepExpiredFiles(env: { DB: D1Database; FILES: R2Bucket }, log: Logger, maxFiles: number, now = Date.now()): Promise<number> {
  let swept = 0;
  while (swept < maxFiles) {
    const rows = await openDb(env.DB)
      .select({ tenantId: f.tenantId, id: f.id, r2Key: f.r2Key })
      .from(f)
      .where(and(isNotNull(f.expiresAt), lte(f.expiresAt, now)))
      .orderBy(asc(f.expiresAt))
      .limit(Math.min(PAGE, maxFiles - swept));
    if (!rows.length) break;
    await env.FILES.delete(rows.map((r) => r.r2Key));
    const db = openDb(env.DB);
    const [first, ...rest] = rows.map((r) => db.delete(f).where(and(eq(f.tenantId, r.tenantId), eq(f.id, r.id))));
    await db.batch([first!, ...rest]);
    swept += rows.length;
    if (rows.length < PAGE) break;
  }
  if (swept) log.info("expired files deleted", { files: swept });
  return swept;
}
