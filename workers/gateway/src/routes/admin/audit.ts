import type { Context } from "hono";
import { auditInsert } from "../../../../../lib/db/audit.js";
import type { Db } from "../../../../../lib/db/index.js";
import type { GatewayApp } from "../../env.js";

/**
 * The audit row of an admin change, to be sent in the same D1 batch as the change itself: D1 runs a batch
 * as one transaction, so no change lands without its audit entry.
 */
export function auditRow(db: Db, c: Context<GatewayApp>, tenantId: string | null, action: string, target: string, detail: Record<string, unknown> = {}) {
  return auditInsert(db, { tenantId, actor: "admin", action, target, detail, requestId: c.get("requestId") });
}
