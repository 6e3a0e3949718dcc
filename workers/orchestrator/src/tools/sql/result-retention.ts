/**
 * Stored query results (render.ts storeResult, behind GET /v1/query-results/{id}) are deleted by the hourly
 * cron CIO_QUERY_RESULT_RETENTION_S after they were written. No D1 row names them, so R2's own listing of
 * the prefix is walked, 1,000 keys a call, and each object's upload time decides.
 */
import type { Logger } from "../../../../../lib/log.js";

const PREFIX = "query-results/";
/** R2 lists and deletes at most 1,000 keys per call. */
const PAGE = 1_000;
/**
 * Listing calls per run at most: a bucket of many recent results is not walked whole every hour (each call
 * is a subrequest). Keys list in order, so results past this many keys wait until the earlier ones are gone.
 */
const MAX_LISTS = 100;

/** Deletes results uploaded before `now - retentionMs`, up to `max` per run; returns how many it deleted. */
export async function sweepQueryResults(bucket: R2Bucket, log: Logger, retentionMs: number, max: number, now = Date.now()): Promise<number> {
  const before = now - retentionMs;
  let deleted = 0;
  let cursor: string | undefined;
  for (let lists = 0; lists < MAX_LISTS && deleted < max; lists++) {
    const page = await bucket.list({ prefix: PREFIX, limit: PAGE, cursor });
    const old = page.objects.filter((o) => o.uploaded.getTime() < before).map((o) => o.key).slice(0, max - deleted);
    if (old.length) await bucket.delete(old);
    deleted += old.length;
    if (!page.truncated) break;
    cursor = page.cursor;
  }
  if (deleted) log.info("stored query results past their retention deleted", { results: deleted });
  return deleted;
}
