/**
 * The audit log: who changed what. Admin changes are written by the admin routes; a tenant's own
 * destructive or deciding calls (deleting a file, a task or a session; a human's council decision) by the
 * routes that make them, with the key as the actor.
 */
import type { Logger } from "../log.js";
import { openDb, schema, type Db } from "./index.js";

export interface AuditInput {
  tenantId: string | null;
  /** `admin`, or `key:<key id>` for a call made with an API key. */
  actor: string;
  action: string;
  target: string | null;
  detail?: Record<string, unknown>;
  requestId: string | null;
}

export const keyActor = (keyId: string) => `key:${keyId}`;

/** The entry as a statement, to go in the same D1 batch (one transaction) as the change it records. */
export const auditInsert = (db: Db, e: AuditInput) =>
  db.insert(schema.auditLog).values({ tenantId: e.tenantId, actor: e.actor, action: e.action, target: e.target, detail: e.detail ?? {}, requestId: e.requestId });

/**
 * The entry of a change already made where D1 cannot join its transaction (a Durable Object). The change
 * stands either way, so a failed write is logged as an error with the whole entry rather than failing a
 * call that did what it was asked.
 */
export async function recordAudit(d1: D1Database, e: AuditInput, log: Logger): Promise<void> {
  await auditInsert(openDb(d1), e).catch((err: unknown) => log.error("audit entry not written", { err, entry: e }));
}
