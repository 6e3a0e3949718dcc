/**
 * Every tool call is written to D1 (tool_calls) and folded into the tenant's moving averages (tool_stats)
 * in one batch, off the answer's path. The averages are updated inside SQL, so concurrent writers never
 * overwrite each other's observations. A batch may hold many answers (see record-queue.ts): the calls of
 * one tenant and tool are folded into a single upsert that gives exactly what one upsert per call gave.
 */
import { sql } from "drizzle-orm";
import { openDb, schema } from "../../../../lib/db/index.js";

export interface CallOutcome {
  tool: string;
  latencyMs: number;
  ok: boolean;
  errorCode?: string;
}

export interface RecordedCall extends CallOutcome {
  tenantId: string;
  requestId: string;
}

/** D1 binds at most 100 parameters per statement; a tool_calls row takes 6. */
const ROWS_PER_INSERT = 16;

/**
 * Folding observations x0…xk-1 into an average m, one at a time (m ← m·(1−α) + α·x), gives
 * m·(1−α)^k + Σ α·(1−α)^(k−1−i)·x_i: `keep` and `add`. A first row starts at x0 and folds the rest (`fresh`).
 */
export function fold(xs: number[], alpha: number): { keep: number; add: number; fresh: number } {
  let keep = 1;
  let add = 0;
  for (const x of xs) {
    keep *= 1 - alpha;
    add = add * (1 - alpha) + alpha * x;
  }
  let fresh = xs[0] ?? 0;
  for (const x of xs.slice(1)) fresh = fresh * (1 - alpha) + alpha * x;
  return { keep, add, fresh };
}

export async function recordCalls(d1: D1Database, calls: RecordedCall[], alpha: number): Promise<void> {
  if (!calls.length) return;
  const db = openDb(d1);
  const s = schema.toolStats;
  const byTool = new Map<string, RecordedCall[]>();
  for (const c of calls) {
    const key = JSON.stringify([c.tenantId, c.tool]);
    byTool.set(key, [...(byTool.get(key) ?? []), c]);
  }
  const upserts = [...byTool.values()].map((group) => {
    const { tenantId, tool } = group[0]!;
    const success = fold(group.map((c) => (c.ok ? 1 : 0)), alpha);
    const latency = fold(group.map((c) => c.latencyMs), alpha);
    return db
      .insert(s)
      .values({ tenantId, toolName: tool, calls: group.length, successEma: success.fresh, latencyEma: latency.fresh })
      .onConflictDoUpdate({
        target: [s.tenantId, s.toolName],
        set: {
          calls: sql`${s.calls} + ${group.length}`,
          successEma: sql`${s.successEma} * ${success.keep} + ${success.add}`,
          latencyEma: sql`${s.latencyEma} * ${latency.keep} + ${latency.add}`,
          updatedAt: sql`(unixepoch('subsec') * 1000)`,
        },
      });
  });
  const rows = calls.map((c) => ({ tenantId: c.tenantId, requestId: c.requestId, toolName: c.tool, latencyMs: Math.round(c.latencyMs), ok: c.ok, errorCode: c.errorCode ?? null }));
  const inserts = [];
  for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) inserts.push(db.insert(schema.toolCalls).values(rows.slice(i, i + ROWS_PER_INSERT)));
  await db.batch([...inserts, ...upserts] as [never]);
}
