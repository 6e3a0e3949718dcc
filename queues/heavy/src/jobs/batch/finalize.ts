/**
 * The end of a batch: once every part is done, the parts' output and error lines are joined (streamed
 * from R2 into R2, never held whole) into the batch's output and error files, the batch becomes completed
 * (or cancelled, or expired when its completion window closed before every request ran) and its task ends
 * the same way: succeeded, cancelled, or failed with batch_expired, each keeping the output file. Every step
 * is idempotent: file ids derive from the batch id.
 */
import { and, eq, inArray } from "drizzle-orm";
import { openDb, schema } from "../../../../../lib/db/index.js";
import { publishTask } from "../../../../../lib/heavy/events.js";
import { r2Keys } from "../../../../../lib/heavy/ids.js";
import type { TaskRow } from "../../../../../lib/heavy/tasks.js";
import type { Logger } from "../../../../../lib/log.js";
import type { HeavyEnv } from "../../env.js";
import { endPartly, readTask, setProgress, succeed } from "../../task-store.js";
import { deleteResults } from "./results.js";
import { recount, type BatchRow } from "./store.js";

const b = schema.batches;

export const outputFileId = (batchId: string, kind: "output" | "error") => `file-${kind}-${batchId.replace(/^batch_/, "")}`;

export async function reportProgress(env: HeavyEnv, tenantId: string, batchId: string, log: Logger) {
  const batch = await recount(env.DB, tenantId, batchId);
  if (!batch || batch.partsTotal === 0) return;
  const task = await readTask(env.DB, tenantId, batch.taskId);
  if (task?.status !== "running") return;
  const row = await setProgress(env.DB, task, 0.05 + 0.9 * (batch.partsDone / batch.partsTotal));
  if (row) await publishTask(env, row, log);
}

const ENDED = ["completed", "cancelled", "expired"];

export async function maybeFinalize(env: HeavyEnv, log: Logger, tenantId: string, batchId: string): Promise<void> {
  const batch = await recount(env.DB, tenantId, batchId);
  if (!batch || batch.partsDone < batch.partsTotal) return;
  // Ended already: a run that died (or whose task write failed) after ending the batch left the task running;
  // this redelivery ends it. Both writes are guarded, so a second end changes nothing.
  if (ENDED.includes(batch.status)) return endTask(env, log, batch);
  if (!["in_progress", "cancelling", "finalizing"].includes(batch.status)) return;
  const cancelled = batch.status === "cancelling" || (batch.status === "finalizing" && batch.cancellingAt !== null);
  const now = Date.now();
  await openDb(env.DB).update(b).set({ status: "finalizing", finalizingAt: now }).where(and(eq(b.tenantId, tenantId), eq(b.id, batch.id), inArray(b.status, ["in_progress", "cancelling"])));
  const [outputId, errorId] = await Promise.all([joinParts(env, batch, "output"), joinParts(env, batch, "error")]);
  const [done] = await openDb(env.DB)
    .update(b)
    .set({ ...ending(batch, cancelled, now), outputFileId: outputId, errorFileId: errorId })
    .where(and(eq(b.tenantId, tenantId), eq(b.id, batch.id), eq(b.status, "finalizing")))
    .returning();
  if (done) await endTask(env, log, done);
}

/** The batch's task ends as the batch did (it is still running until then), and the parts' files go. */
async function endTask(env: HeavyEnv, log: Logger, done: BatchRow) {
  const task = await readTask(env.DB, done.tenantId, done.taskId);
  if (task?.status === "running") {
    const summary = `Batch ${done.id} ${done.status}: ${done.completed} of ${done.total} requests completed, ${done.failed} failed.`;
    const resultRef = done.outputFileId ? r2Keys.file(done.tenantId, done.outputFileId) : null;
    const finished =
      done.status === "completed"
        ? await succeed(env.DB, task, summary, resultRef)
        : await endPartly(env.DB, task, {
            status: done.status === "cancelled" ? "cancelled" : "failed",
            summary,
            resultRef,
            error: done.status === "cancelled" ? null : { code: "batch_expired", message: summary },
          });
    if (finished) await publishTask(env, finished, log);
  }
  await deleteParts(env, done);
}

/** How a batch whose parts are all done ends: cancelled, expired (requests were left unrun when its window closed), or completed. */
function ending(batch: BatchRow, cancelled: boolean, now: number) {
  if (cancelled) return { status: "cancelled" as const, cancelledAt: now };
  if (batch.expiredAt !== null) return { status: "expired" as const };
  return { status: "completed" as const, completedAt: now };
}

/** Concatenates the parts' lines of one kind into a batch_output file; null when there are none. */
async function joinParts(env: HeavyEnv, batch: BatchRow, kind: "output" | "error"): Promise<string | null> {
  const p = schema.batchParts;
  const parts = await openDb(env.DB).select().from(p).where(and(eq(p.tenantId, batch.tenantId), eq(p.batchId, batch.id))).orderBy(p.idx);
  // Each part's file is the one its ending claim wrote (claim.ts); sized from the stored object all the same, as
  // a total that did not match the bytes streamed would fail every join and leave the batch finalizing.
  const sized = await Promise.all(
    parts
      .filter((x) => (kind === "output" ? x.outputBytes : x.errorBytes) > 0)
      .map(async (x) => {
        const key = r2Keys.batchPart(batch.tenantId, batch.id, x.idx, kind, x.claim);
        const head = await env.FILES.head(key);
        if (!head) throw new Error(`part ${x.idx} of batch ${batch.id} lost its ${kind} lines`);
        return { idx: x.idx, key, bytes: head.size };
      }),
  );
  if (!sized.length) return null;
  const total = sized.reduce((n, x) => n + x.bytes, 0);
  const id = outputFileId(batch.id, kind);
  const key = r2Keys.file(batch.tenantId, id);
  const { readable, writable } = new FixedLengthStream(total);
  const pump = (async () => {
    for (const x of sized) {
      const obj = await env.FILES.get(x.key);
      if (!obj) throw new Error(`part ${x.idx} of batch ${batch.id} lost its ${kind} lines`);
      await obj.body.pipeTo(writable, { preventClose: true });
    }
    await writable.close();
  })();
  await Promise.all([env.FILES.put(key, readable, { httpMetadata: { contentType: "application/jsonl" } }), pump]);
  await openDb(env.DB)
    .insert(schema.files)
    .values({
      id,
      tenantId: batch.tenantId,
      filename: `${batch.id}_${kind}.jsonl`,
      purpose: "batch_output",
      bytes: total,
      contentType: "application/jsonl",
      r2Key: key,
      // Anchored at the file's creation, as OpenAI's output_expires_after is.
      expiresAt: batch.outputExpiresAfterS === null ? null : Date.now() + batch.outputExpiresAfterS * 1000,
    })
    .onConflictDoNothing();
  return id;
}

/** Listed, not derived from the parts: the files of a delivery that lost its part and died before dropping them go too. */
async function deleteParts(env: HeavyEnv, batch: BatchRow) {
  // A batch cancelled before it was planned has no part (and no file to look for).
  for (let cursor: string | undefined, more = batch.partsTotal > 0; more; more = cursor !== undefined) {
    const page = await env.FILES.list({ prefix: r2Keys.batchParts(batch.tenantId, batch.id), cursor });
    if (page.objects.length) await env.FILES.delete(page.objects.map((o) => o.key));
    cursor = page.truncated ? page.cursor : undefined;
  }
  // Each part deletes its own rows; this catches those a delivery that lost its part recorded after that.
  await deleteResults(env.DB, batch.tenantId, batch.id);
}

/**
 * Validation failed, or the batch task died: the batch is failed with its errors. Its task is its caller's to
 * end (the planning job throws JobFailure, the dead-letter consumer has failed it already).
 */
export async function failBatch(env: HeavyEnv, task: TaskRow, error: { code: string; message: string }, errors?: BatchRow["errors"]) {
  const { batchId } = task.params as { batchId: string };
  const now = Date.now();
  await openDb(env.DB)
    .update(b)
    .set({ status: "failed", failedAt: now, errors: errors ?? [{ ...error, line: null, param: null }] })
    .where(and(eq(b.tenantId, task.tenantId), eq(b.id, batchId), inArray(b.status, ["validating", "in_progress", "finalizing", "cancelling"])));
}
