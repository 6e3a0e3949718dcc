/**
 * A user's rating of an answer (-1 bad … 1 good) moves the rating average of every tool that answer used.
 * The answer is found by the tenant's own request id only, so a tenant can never rate another's tools.
 */
import { and, eq } from "drizzle-orm";
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
  if (!(await rateOnce(d1, tenantId, requestId, rating, used.map((u) => u.tool), alpha)))
    throw new ApiError(409, "invalid_request_error", `The answer '${requestId}' has already been rated.`, "already_rated", "request_id");
  return { request_id: requestId, rating, tools: used.map((u) => u.tool) };
}

/**
 * The rating row and the tools' averages in one D1 transaction: each average moves only if the answer has no
 * rating yet (the upserts run before the rating row is inserted), so a batch that fails leaves nothing and
 * the client's retry is applied, and a rating sent twice moves nothing twice. Returns whether it was new.
 */
async function rateOnce(d1: D1Database, tenantId: string, requestId: string, rating: number, tools: string[], alpha: number): Promise<boolean> {
  const notYet = "NOT EXISTS (SELECT 1 FROM tool_feedback WHERE tenant_id = ?1 AND request_id = ?2)";
  const upsert = d1.prepare(
    `INSERT INTO tool_stats (tenant_id, tool_name, rating_ema, ratings)
     SELECT ?1, ?3, ?4, 1 WHERE ${notYet}
     ON CONFLICT (tenant_id, tool_name) DO UPDATE SET rating_ema = rating_ema * ?5 + excluded.rating_ema, ratings = ratings + 1`,
  );
  const insert = d1.prepare("INSERT INTO tool_feedback (tenant_id, request_id, rating) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING RETURNING id").bind(tenantId, requestId, rating);
  const results = await d1.batch([...tools.map((tool) => upsert.bind(tenantId, requestId, tool, alpha * rating, 1 - alpha)), insert]);
  return results.at(-1)!.results.length > 0;
}
