/**
 * The audit trail in D1. Every write is idempotent (a replayed step writes the same rows again and
 * changes nothing), so the object can always redo the step it was in when it died.
 */
import { and, eq } from "drizzle-orm";
import { openDb, schema } from "../../lib/db/index.js";
import type { RoundResult } from "../../lib/protocol/council.js";
import type { CouncilState } from "./state.js";

const { councils, councilRounds, councilPositions, councilDecisions } = schema;

export async function recordOpened(d1: D1Database, s: CouncilState) {
  await openDb(d1)
    .insert(councils)
    .values({
      tenantId: s.tenantId,
      id: s.id,
      question: s.question,
      context: s.context,
      preset: s.preset,
      symbol: s.symbol,
      options: s.options,
      assistants: s.assistants.map((a) => ({ id: a.id, model: a.model, weight: a.weight, base_weight: a.baseWeight })),
      threshold: s.threshold,
      maxRounds: s.maxRounds,
      status: s.status,
      sessionId: s.sessionId,
      createdAt: s.createdAt,
    })
    .onConflictDoNothing();
}

/** A finished round: its positions and its tally, in one transaction. */
export async function recordRound(d1: D1Database, s: CouncilState, r: RoundResult) {
  const db = openDb(d1);
  const positions = r.positions.map((p) => ({
    tenantId: s.tenantId,
    councilId: s.id,
    round: r.round,
    assistantId: p.assistant,
    option: p.option,
    confidence: p.confidence,
    reasoning: p.reasoning,
    weight: p.weight,
    error: p.error ?? null,
  }));
  await db.batch([
    db.insert(councilPositions).values(positions).onConflictDoNothing(),
    db
      .insert(councilRounds)
      .values({ tenantId: s.tenantId, councilId: s.id, round: r.round, tally: r.tally, leader: r.leader, share: r.share, consensus: r.consensus })
      .onConflictDoNothing(),
  ]);
}

export async function recordStatus(d1: D1Database, s: CouncilState) {
  const db = openDb(d1);
  const where = and(eq(councils.tenantId, s.tenantId), eq(councils.id, s.id));
  const writes = [
    db
      .update(councils)
      .set({
        status: s.status,
        decision: s.decision?.option ?? null,
        decisionSource: s.decision?.source ?? null,
        decidedAt: s.decision?.at ?? null,
        refPrice: s.refPrice,
      })
      .where(where),
  ] as const;
  if (!s.decision) return void (await writes[0]);
  await db.batch([
    ...writes,
    db
      .insert(councilDecisions)
      .values({ tenantId: s.tenantId, councilId: s.id, kind: "decision", option: s.decision.option, source: s.decision.source, note: s.decision.note ?? null, createdAt: s.decision.at })
      .onConflictDoNothing(),
  ]);
}
