/** The audit entry of a call made with an API key: the key is the actor (lib/db/audit.ts). */
import type { Context } from "hono";
import { keyActor, type AuditInput } from "../../../../lib/db/audit.js";
import type { GatewayApp } from "../env.js";

export function byKey(c: Context<GatewayApp>, action: string, target: string, detail: Record<string, unknown> = {}): AuditInput {
  const { tenantId, keyId } = c.get("auth");
  return { tenantId, actor: keyActor(keyId), action, target, detail, requestId: c.get("requestId") };
}
