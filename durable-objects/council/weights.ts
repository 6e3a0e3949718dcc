/**
 * Learning from outcomes. Each assistant's vote weight is its base weight times a track-record factor:
 *
 *   factor = 2 × (correct + 1) / (total + 2), clamped to [floor, ceiling]
 *
 * — twice its Laplace-smoothed hit rate, so a newcomer (0 of 0) counts 1.0, a perfect record approaches
 * 2.0 and a poor one sinks towards the floor. It depends only on the counts, so it is bounded, needs no
 * history replay, and explains itself ("3 of 4 right → 1.33").
 */
import { and, eq, inArray } from "drizzle-orm";
import { openDb, schema } from "../../lib/db/index.js";
import type { CouncilSettings } from "./settings.js";
import type { CouncilState } from "./state.js";

const { assistantWeights } = schema;

export interface TrackRecord {
  correct: number;
  total: number;
}

export function weightFactor(r: TrackRecord, s: Pick<CouncilSettings, "CIO_COUNCIL_WEIGHT_FLOOR" | "CIO_COUNCIL_WEIGHT_CEILING">): number {
  const raw = (2 * (r.correct + 1)) / (r.total + 2);
  return Math.round(Math.min(s.CIO_COUNCIL_WEIGHT_CEILING, Math.max(s.CIO_COUNCIL_WEIGHT_FLOOR, raw)) * 10_000) / 10_000;
}

export const explainFactor = (r: TrackRecord, factor: number) =>
  `${r.correct} of ${r.total} right → factor 2×(${r.correct}+1)/(${r.total}+2) = ${factor}`;

export async function trackRecords(d1: D1Database, tenantId: string, assistantIds: string[]): Promise<Map<string, TrackRecord>> {
  if (!assistantIds.length) return new Map();
  const rows = await openDb(d1)
    .select()
    .from(assistantWeights)
    .where(and(eq(assistantWeights.tenantId, tenantId), inArray(assistantWeights.assistantId, assistantIds)));
  return new Map(rows.map((r) => [r.assistantId, { correct: r.correct, total: r.total }]));
}

/**
 * Books an outcome: each assistant whose final position matched it gains a correct answer, every one
 * that answered gains a total. One D1 transaction that only counts if the outcome row is new, so a
 * replayed call cannot count twice.
 */
export async function applyOutcome(d1: D1Database, s: CouncilState, outcome: { option: string; source: string; at: number }) {
  const last = s.rounds.at(-1);
  const voters = (last?.positions ?? []).filter((p) => !p.error);
  const notYet = `NOT EXISTS (SELECT 1 FROM council_decisions WHERE tenant_id = ?1 AND council_id = ?2 AND kind = 'outcome')`;
  const upsert = d1.prepare(
    `INSERT INTO assistant_weights (tenant_id, assistant_id, correct, total, updated_at)
     SELECT ?1, ?3, ?4, 1, ?5 WHERE ${notYet}
     ON CONFLICT (tenant_id, assistant_id) DO UPDATE SET correct = correct + excluded.correct, total = total + 1, updated_at = excluded.updated_at`,
  );
  const statements = voters.map((p) => upsert.bind(s.tenantId, s.id, p.assistant, p.option === outcome.option ? 1 : 0, outcome.at));
  statements.push(
    d1
      .prepare(`INSERT OR IGNORE INTO council_decisions (tenant_id, council_id, kind, option, source, created_at) VALUES (?1, ?2, 'outcome', ?3, ?4, ?5)`)
      .bind(s.tenantId, s.id, outcome.option, outcome.source, outcome.at),
    d1
      .prepare(`UPDATE councils SET outcome = ?3, outcome_source = ?4, outcome_at = ?5 WHERE tenant_id = ?1 AND id = ?2`)
      .bind(s.tenantId, s.id, outcome.option, outcome.source, outcome.at),
  );
  await d1.batch(statements);
}
