/**
 * A user's rating of an answer (-1 bad … 1 good) moves the rating average of every tool that answer used.
 * The answer is found by the tenant's own request id only, so a tenant can never rate another's tools.
 */
import { and, eq, sql } from "drizzle-orm";
import { z } from "zod";
import { ApiError, notFound } from "../../../../lib/errors.js";
import { openDb, schema } from "../../../../lib/db/index.js";
import { FeedbackRequestSchema, type FeedbackResult } from "../../../../lib/protocol/feedback.js";
import { sleep } from "../../../../lib/time.js";

export const FeedbackCallSchema = z.object({ tenantId: z.string().min(1), requestId: z.string().min(1), body: FeedbackRequestSchema });
export type FeedbackCall = z.infer<typeof FeedbackCallSchema>;

/**
 * `flushMs`: how late an answer's tool calls may reach D1 (they are written in batches, see
 * record-queue.ts). An answer not found at once is looked up once more after that long, so a rating sent
 * right after its answer, to another isolate, still finds it.
 */
export async function applyFeedback(d1: D1Database, call: FeedbackCall, alpha: number, flushMs = 0): Promise<FeedbackResult> {
  const db = openDb(d1);
  const { tenantId } = call;
  const { request_id: requestId, rating } = call.body;
  const c = schema.toolCalls;
  const lookup = () => db.selectDistinct({ tool: c.toolName }).from(c).where(and(eq(c.tenantId, tenantId), eq(c.requestId, requestId)));
  let used = await lookup();
  if (!used.length && flushMs > 0) used = await sleep(flushMs).then(lookup);
  if (!used.length) throw notFound(`No answer that used tools is known under request id '${requestId}'.`, "unknown_request");
  const inserted = await db.insert(schema.toolFeedback).values({ tenantId, requestId, rating }).onConflictDoNothing().returning({ id: schema.toolFeedback.id });
  if (!inserted.length) throw new ApiError(409, "invalid_request_error", `The answer '${requestId}' has already been rated.`, "already_rated", "request_id");
  const s = schema.toolStats;
  await db.batch(
    used.map(({ tool }) =>
      db
        .insert(s)
        .values({ tenantId, toolName: tool, ratingEma: alpha * rating, ratings: 1 })
        .onConflictDoUpdate({
          target: [s.tenantId, s.toolName],
          set: { ratingEma: sql`${s.ratingEma} * ${1 - alpha} + ${alpha * rating}`, ratings: sql`${s.ratings} + 1` },
        }),
    ) as [never],
  );
  return { request_id: requestId, rating, tools: used.map((u) => u.tool) };
}
