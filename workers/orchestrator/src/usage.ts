import { sql } from "drizzle-orm";
import { openDb, schema } from "../../../lib/db/index.js";
import { rateLimiterName, stubFor } from "../../../lib/do-names.js";
import { utcDay } from "../../../lib/time.js";
import type { Usage } from "../../../lib/protocol/index.js";
import type { OrchestratorEnv } from "./env.js";

/**
 * Adds one answered request to the tenant's usage for today, and tells the tenant's rate limiter so a
 * daily token budget is enforced without a D1 read on every request.
 */
export async function recordUsage(env: OrchestratorEnv, tenantId: string, model: string, u: Usage) {
  const day = utcDay();
  const t = schema.usage;
  await openDb(env.DB)
    .insert(t)
    .values({ tenantId, day, model, requests: 1, promptTokens: u.prompt_tokens, completionTokens: u.completion_tokens })
    .onConflictDoUpdate({
      target: [t.tenantId, t.day, t.model],
      set: {
        requests: sql`${t.requests} + 1`,
        promptTokens: sql`${t.promptTokens} + ${u.prompt_tokens}`,
        completionTokens: sql`${t.completionTokens} + ${u.completion_tokens}`,
      },
    });
  await stubFor(env.RATE_LIMITER, rateLimiterName(tenantId)).addTokens(u.total_tokens, day);
}
