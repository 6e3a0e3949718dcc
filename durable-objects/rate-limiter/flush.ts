import { sql } from "drizzle-orm";
import { z } from "zod";
import { envInt, loadSettings } from "../../lib/config.js";
import { openDb, schema } from "../../lib/db/index.js";
import type { UsageLedger } from "./usage-ledger.js";

export interface LimiterEnv {
  DB: D1Database;
  /** How long usage may wait in the object before it is written to D1. */
  CIO_USAGE_FLUSH_MS?: string;
  /** How long answered calls' usage is added up in memory before it is committed to the object's storage. */
  CIO_USAGE_COMMIT_MS?: string;
  /** How long a request refused only for concurrency waits for a slot to free before it gets its 429. */
  CIO_SLOT_WAIT_MS?: string;
}

export const LimiterSettingsSchema = z.object({
  CIO_USAGE_FLUSH_MS: envInt(10_000, 10, 3_600_000),
  CIO_USAGE_COMMIT_MS: envInt(10, 0, 1000),
  CIO_SLOT_WAIT_MS: envInt(50, 0, 10_000),
});
export type LimiterSettings = z.infer<typeof LimiterSettingsSchema>;
export const limiterSettings = (env: LimiterEnv) => loadSettings(LimiterSettingsSchema, env);

/** Writes the ledger's changed rows to D1 as absolute totals, in one batch (one D1 transaction). */
export async function flushToD1(env: LimiterEnv, ledger: UsageLedger): Promise<void> {
  const rows = ledger.unflushed();
  const tenantId = ledger.tenantId;
  if (!rows.length || !tenantId) return;
  const db = openDb(env.DB);
  const t = schema.usage;
  const writes = rows.map((r) =>
    db
      .insert(t)
      .values({ tenantId, day: r.day, model: r.model, requests: r.requests, promptTokens: r.prompt_tokens, completionTokens: r.completion_tokens })
      .onConflictDoUpdate({
        target: [t.tenantId, t.day, t.model],
        set: { requests: sql`excluded.requests`, promptTokens: sql`excluded.prompt_tokens`, completionTokens: sql`excluded.completion_tokens` },
      }),
  );
  await db.batch(writes as [(typeof writes)[number], ...(typeof writes)[number][]]);
  ledger.markFlushed(rows);
}
