/**
 * The audit trail in D1. Every write is idempotent (a replayed step writes the same rows again and
 * changes nothing), so the object can always redo the step it was in when it died.
 */
import { and, eq, getTableColumns, type Table } from "drizzle-orm";
import { openDb, schema } from "../../lib/db/index.js";
import type { RoundResult } from "../../lib/protocol/council.js";
import type { CouncilState } from "./state.js";

const { councils, councilRounds, councilPositions, councilDecisions } = schema;

/** D1 binds at most 100 values per statement (developers.cloudflare.com/d1/platform/limits). */
const D1_MAX_BOUND_VALUES = 100;

/** Rows one insert into `table` may carry: each column binds at most one value per row. */
const rowsPerInsert = (table: Table) => Math.floor(D1_MAX_BOUND_VALUES / Object.keys(getTableColumns(table)).length);

const chunks = <T>(xs: T[], size: number) => Array.from({ length: Math.ceil(xs.length / size) }, (_, i) => xs.slice(i * size, (i + 1) * size));

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

/** A finished round: its positions, its tally and the council's new status, in one transaction. */
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
  // One insert of twelve assistants' positions bound 108 values and failed every time: split, same batch.
  const inserts = chunks(positions, rowsPerInsert(councilPositions)).map((rows) => db.insert(councilPositions).values(rows).onConflictDoNothing());
  await db.batch([
    db
      .insert(councilRounds)
      .values({ tenantId: s.tenantId, councilId: s.id, round: r.round, tally: r.tally, leader: r.leader, share: r.share, consensus: r.consensus })
      .onConflictDoNothing(),
    ...inserts,
    ...statusWrites(db, s),
  ]);
}

export async function recordStatus(d1: D1Database, s: CouncilState) {
  const db = openDb(d1);
  const [first, ...rest] = statusWrites(db, s);
  await db.batch([first, ...rest]);
}

/** The council row's status and decision, and the decision's (or the failure's) audit row once there is one. */
function statusWrites(db: ReturnType<typeof openDb>, s: CouncilState) {
  const update = db
    .update(councils)
    .set({
      status: s.status,
      decision: s.decision?.option ?? null,
      decisionSource: s.decision?.source ?? null,
      decidedAt: s.decision?.at ?? null,
      refPrice: s.refPrice,
    })
    .where(and(eq(councils.tenantId, s.tenantId), eq(councils.id, s.id)));
  if (s.status === "failed") return [update, failure(db, s)] as const;
  if (!s.decision) return [update] as const;
  const decision = db
    .insert(councilDecisions)
    .values({ tenantId: s.tenantId, councilId: s.id, kind: "decision", option: s.decision.option, source: s.decision.source, note: s.decision.note ?? null, createdAt: s.decision.at })
    .onConflictDoNothing();
  return [update, decision] as const;
}

/** Why the council failed. The councils table has no column for it; the audit rows do (kind "failure"). */
const failure = (db: ReturnType<typeof openDb>, s: CouncilState) =>
  db
    .insert(councilDecisions)
    .values({ tenantId: s.tenantId, councilId: s.id, kind: "failure", option: "(failed)", source: "council", note: s.error, createdAt: Date.now() })
    .onConflictDoNothing();
