/**
 * The local audit log: one JSON line per request and outcome, appended (the file is opened with O_APPEND
 * and never rewritten), so the customer can see everything the cloud asked of their database.
 */
import { appendFileSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";

export interface AuditEntry {
  requestId: string;
  id: string;
  event: "request" | "refused" | "done" | "error" | "cancelled";
  sql?: string;
  named?: string | null;
  /** The values the query ran with: a named query's meaning is in them. */
  params?: unknown;
  reason?: string;
  code?: string;
  rowCount?: number;
  truncated?: boolean;
  elapsedMs?: number;
}

export interface AuditLog {
  write(entry: AuditEntry): void;
}

export const noAudit: AuditLog = { write: () => {} };

/** Synchronous appends: an audit line must be on disk before the answer leaves the runner. */
export function fileAuditLog(path: string): AuditLog {
  mkdirSync(dirname(path), { recursive: true });
  return {
    write(entry) {
      appendFileSync(path, JSON.stringify({ ts: new Date().toISOString(), ...entry }) + "\n", { flag: "a" });
    },
  };
}
