/** The batch rows' state changes, each conditional and idempotent so redelivered messages are harmless (a part's claim: claim.ts). */
import { and, eq, sql } from "drizzle-orm";
import { openDb, schema } from "../../../../../lib/db/index.js";

const b = schema.batches;
const p = schema.batchParts;
export type BatchRow = typeof b.$inferSelect;
export type PartRow = typeof p.$inferSelect;

export async function readBatch(d1: D1Database, tenantId: string, id: string): Promise<BatchRow | undefined> {
  const [row] = await openDb(d1).select().from(b).where(and(eq(b.tenantId, tenantId), eq(b.id, id))).limit(1);
  return row;
}

/**
 * Whether the batch has been cancelled, read at most every `everyMs` (the last answer is reused in between). A
 * read that fails answers "not cancelled": the part goes on, as it would have without the check.
 */
export function watchCancel(d1: D1Database, batch: Pick<BatchRow, "tenantId" | "id">, everyMs: number): () => Promise<boolean> {
  let readAt = -Infinity;
  let last = Promise.resolve(false);
  return () => {
    if (Date.now() - readAt < everyMs) return last;
    readAt = Date.now();
    return (last = readBatch(d1, batch.tenantId, batch.id).then(
      (b) => b?.status === "cancelling" || b?.status === "cancelled",
      () => false,
    ));
  };
}

/** The batch's counters, recomputed from its parts (so recounting after a redelivery changes nothing). */
export async function recount(d1: D1Database, tenantId: string, batchId: string): Promise<BatchRow | undefined> {
  const [row] = await openDb(d1)
    .update(b)
    .set({
      completed: sql`(SELECT coalesce(sum(completed), 0) FROM batch_parts WHERE tenant_id = ${tenantId} AND batch_id = ${batchId} AND status = 'done')`,
      failed: sql`(SELECT coalesce(sum(failed), 0) FROM batch_parts WHERE tenant_id = ${tenantId} AND batch_id = ${batchId} AND status = 'done')`,
      partsDone: sql`(SELECT count(*) FROM batch_parts WHERE tenant_id = ${tenantId} AND batch_id = ${batchId} AND status = 'done')`,
    })
    .where(and(eq(b.tenantId, tenantId), eq(b.id, batchId)))
    .returning();
  return row;
}

/** Moves the lowest pending part to queued (one statement, so two finishing parts cannot pick the same). */
export async function takeNextPart(d1: D1Database, tenantId: string, batchId: string): Promise<number | undefined> {
  const [row] = await openDb(d1)
    .update(p)
    .set({ status: "queued" })
    .where(
      and(
        eq(p.tenantId, tenantId),
        eq(p.batchId, batchId),
        eq(p.idx, sql`(SELECT min(idx) FROM batch_parts WHERE tenant_id = ${tenantId} AND batch_id = ${batchId} AND status = 'pending')`),
        eq(p.status, "pending"),
      ),
    )
    .returning({ idx: p.idx });
  return row?.idx;
}

/** Puts a part taken by takeNextPart back, when its message could not be sent. */
export async function returnPart(d1: D1Database, tenantId: string, batchId: string, idx: number) {
  await openDb(d1)
    .update(p)
    .set({ status: "pending" })
    .where(and(eq(p.tenantId, tenantId), eq(p.batchId, batchId), eq(p.idx, idx), eq(p.status, "queued")));
}

/** A cancelled batch runs no more parts: the ones still waiting count as done with nothing processed. */
export async function dropPendingParts(d1: D1Database, tenantId: string, batchId: string) {
  await openDb(d1)
    .update(p)
    .set({ status: "done" })
    .where(and(eq(p.tenantId, tenantId), eq(p.batchId, batchId), eq(p.status, "pending")));
}

/** Records that the completion window closed with requests unrun (the first time it is noticed), so the batch ends expired. */
export async function markExpired(d1: D1Database, batch: Pick<BatchRow, "tenantId" | "id">, now = Date.now()) {
  await openDb(d1)
    .update(b)
    .set({ expiredAt: sql`coalesce(${b.expiredAt}, ${now})` })
    .where(and(eq(b.tenantId, batch.tenantId), eq(b.id, batch.id)));
}
