/**
 * Whether a tenant may spend on council model calls now: what `POST /v1/councils` is admitted under, asked of
 * work no request admits (each round of a council, before its model calls; a cron's watch-list council).
 */
import { eq } from "drizzle-orm";
import { openDb, schema } from "../../lib/db/index.js";
import { limiterStub } from "../../lib/do-names.js";
import { ApiError, BUDGET_EXHAUSTED, forbidden } from "../../lib/errors.js";
import type { CouncilEnv } from "./env.js";

export type CouncilRefusal = "tenant_suspended" | "budget_exceeded";

export async function councilRefusal(env: Pick<CouncilEnv, "DB" | "RATE_LIMITER">, tenantId: string): Promise<CouncilRefusal | null> {
  const t = schema.tenants;
  const [row] = await openDb(env.DB).select({ status: t.status, budget: t.dailyTokenBudget }).from(t).where(eq(t.id, tenantId)).limit(1);
  if (!row || row.status !== "active") return "tenant_suspended";
  if (row.budget === null || !env.RATE_LIMITER) return null;
  return (await limiterStub(env.RATE_LIMITER, tenantId).budgetSpent(row.budget)) ? "budget_exceeded" : null;
}

export const refusalError = (r: CouncilRefusal): ApiError =>
  r === "budget_exceeded"
    ? new ApiError(429, "rate_limit_error", BUDGET_EXHAUSTED, "budget_exceeded", null, { "x-should-retry": "false" })
    : forbidden("This tenant is suspended.", "tenant_suspended");
