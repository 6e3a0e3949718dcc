/**
 * The finished requests of a running part, one D1 row each, written the moment a request finishes. A part
 * that fails or is handed back to the queue midway keeps them: its next attempt runs only the requests
 * without a row, so nothing answered is sent (and billed) again, and the part's files are built from the
 * rows once every request has one.
 */
import { and, eq } from "drizzle-orm";
import { openDb, schema } from "../../../../../lib/db/index.js";
import { deleteStarts } from "./starts.js";
import type { PartRow } from "./store.js";

const r = schema.batchResults;
export type ResultRow = typeof r.$inferSelect;
export type ResultKind = ResultRow["kind"];

/** Idempotent: a request recorded twice (a delivery that lost its claim still answering) keeps its first line. */
export async function recordResult(d1: D1Database, part: PartRow, line: number, kind: ResultKind, body: string) {
  await openDb(d1).insert(r).values({ batchId: part.batchId, part: part.idx, line, tenantId: part.tenantId, kind, body }).onConflictDoNothing();
}

/** The places (in the part) of the requests already finished by an earlier attempt. */
export async function finishedLines(d1: D1Database, part: PartRow): Promise<Set<number>> {
  const rows = await openDb(d1)
    .select({ line: r.line })
    .from(r)
    .where(and(eq(r.tenantId, part.tenantId), eq(r.batchId, part.batchId), eq(r.part, part.idx)));
  return new Set(rows.map((x) => x.line));
}

export async function readResults(d1: D1Database, part: PartRow): Promise<ResultRow[]> {
  return openDb(d1)
    .select()
    .from(r)
    .where(and(eq(r.tenantId, part.tenantId), eq(r.batchId, part.batchId), eq(r.part, part.idx)))
    .orderBy(r.line);
}

/** The part's (or batch's) results go, and with them its requests' start records (starts.ts). */
export async function deleteResults(d1: D1Database, tenantId: string, batchId: string, part?: number) {
  const where = and(eq(r.tenantId, tenantId), eq(r.batchId, batchId), part === undefined ? undefined : eq(r.part, part));
  await openDb(d1).delete(r).where(where);
  await deleteStarts(d1, tenantId, batchId, part);
}
