/** A tenant's usage report from the usage table, which the tenant's limiter keeps up to date (lib/protocol/usage.ts). */
import { and, asc, eq, gte, lte, sql } from "drizzle-orm";
import { reportDays, type UsageQuery, type UsageReport } from "../protocol/usage.js";
import { utcDay } from "../time.js";
import { openDb, schema } from "./index.js";

const u = schema.usage;

export async function usageReport(d1: D1Database, tenantId: string, budget: number | null, q: UsageQuery, now = Date.now()): Promise<UsageReport> {
  const { start, end } = reportDays(q, now);
  const db = openDb(d1);
  const [rows, [today]] = await Promise.all([
    db
      .select()
      .from(u)
      .where(and(eq(u.tenantId, tenantId), gte(u.day, start), lte(u.day, end), q.model ? eq(u.model, q.model) : undefined))
      .orderBy(asc(u.day), asc(u.model)),
    db
      .select({ n: sql<number>`coalesce(sum(${u.promptTokens} + ${u.completionTokens}), 0)` })
      .from(u)
      .where(and(eq(u.tenantId, tenantId), eq(u.day, utcDay(now)))),
  ]);
  const data = rows.map((r) => ({
    day: r.day,
    model: r.model,
    requests: r.requests,
    prompt_tokens: r.promptTokens,
    completion_tokens: r.completionTokens,
    total_tokens: r.promptTokens + r.completionTokens,
  }));
  const sum = (k: "requests" | "prompt_tokens" | "completion_tokens" | "total_tokens") => data.reduce((n, r) => n + r[k], 0);
  return {
    object: "usage",
    tenant_id: tenantId,
    start_date: start,
    end_date: end,
    data,
    total: { requests: sum("requests"), prompt_tokens: sum("prompt_tokens"), completion_tokens: sum("completion_tokens"), total_tokens: sum("total_tokens") },
    daily_token_budget: budget,
    tokens_today: today?.n ?? 0,
  };
}
