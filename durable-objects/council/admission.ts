/**
 * Whether a tenant may spend on council model calls now: what `POST /v1/councils` is admitted under, asked of
 * work no request admits (each round of a council, before its model calls; a cron's watch-list council).
 */
import { tenantStanding } from "../../lib/db/key-limits.js";
import { limiterStub } from "../../lib/do-names.js";
import { ApiError, BUDGET_EXHAUSTED, forbidden } from "../../lib/errors.js";
import type { CouncilEnv } from "./env.js";

export type CouncilRefusal = "tenant_suspended" | "budget_exceeded";

export async function councilRefusal(env: Pick<CouncilEnv, "DB" | "RATE_LIMITER">, tenantId: string): Promise<CouncilRefusal | null> {
  const { status, dailyTokenBudget: budget } = await tenantStanding(env.DB, tenantId);
  if (status !== "ok") return status;
  if (budget === null || !env.RATE_LIMITER) return null;
  return (await limiterStub(env.RATE_LIMITER, tenantId).budgetSpent(budget)) ? "budget_exceeded" : null;
}

export const refusalError = (r: CouncilRefusal): ApiError =>
  r === "budget_exceeded"
    ? new ApiError(429, "rate_limit_error", BUDGET_EXHAUSTED, "budget_exceeded", null, { "x-should-retry": "false" })
    : forbidden("This tenant is suspended.", "tenant_suspended");
