/**
 * Every tool call is written to D1 (tool_calls) and folded into the tenant's moving averages (tool_stats)
 * in one batch, off the answer's path. The averages are updated inside SQL, so concurrent answers never
 * overwrite each other's observations.
 */
import { sql } from "drizzle-orm";
import { openDb, schema } from "../../../../lib/db/index.js";

export interface CallOutcome {
  tool: string;
  latencyMs: number;
  ok: boolean;
  errorCode?: string;
}

export async function recordCalls(d1: D1Database, tenantId: string, requestId: string, outcomes: CallOutcome[], alpha: number): Promise<void> {
  if (!outcomes.length) return;
  const db = openDb(d1);
  const s = schema.toolStats;
  const upserts = outcomes.map((o) =>
    db
      .insert(s)
      .values({ tenantId, toolName: o.tool, calls: 1, successEma: o.ok ? 1 : 0, latencyEma: o.latencyMs })
      .onConflictDoUpdate({
        target: [s.tenantId, s.toolName],
        set: {
          calls: sql`${s.calls} + 1`,
          successEma: sql`${s.successEma} * ${1 - alpha} + ${o.ok ? alpha : 0}`,
          latencyEma: sql`${s.latencyEma} * ${1 - alpha} + ${alpha * o.latencyMs}`,
          updatedAt: sql`(unixepoch('subsec') * 1000)`,
        },
      }),
  );
  const rows = outcomes.map((o) => ({ tenantId, requestId, toolName: o.tool, latencyMs: Math.round(o.latencyMs), ok: o.ok, errorCode: o.errorCode ?? null }));
  await db.batch([db.insert(schema.toolCalls).values(rows), ...upserts]);
}
