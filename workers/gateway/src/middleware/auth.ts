import type { MiddlewareHandler } from "hono";
import { forbidden, unauthorized } from "../../../../lib/errors.js";
import { sha256Hex } from "../../../../lib/crypto.js";
import { lookupKey } from "../keys.js";
import { hasScope, type Scope } from "../../../../lib/scopes.js";
import type { GatewayApp } from "../env.js";

export { hasScope, SCOPES, type Scope } from "../../../../lib/scopes.js";

export function apiKeyAuth(): MiddlewareHandler<GatewayApp> {
  return async function apiKeyAuth(c, next) {
    const header = c.req.header("authorization") ?? "";
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw unauthorized();
    const found = await lookupKey(c.env.DB, await sha256Hex(match[1]!), c.get("settings"));
    if (!found) throw unauthorized("Incorrect or revoked API key.");
    if (found.tenantStatus !== "active") throw forbidden("This tenant is suspended.", "tenant_suspended");
    const { tenantStatus: _, ...auth } = found;
    c.set("auth", auth);
    c.set("log", c.get("log").child({ tenantId: auth.tenantId }));
    await next();
  };
}

/** The key must hold `scope`, or one of `alsoAccepted` (a route that older keys reached under another scope). */
export function requireScope(scope: Scope, ...alsoAccepted: Scope[]): MiddlewareHandler<GatewayApp> {
  const accepted = [scope, ...alsoAccepted];
  return async function requireScope(c, next) {
    const scopes = c.get("auth").scopes;
    if (!accepted.some((s) => hasScope(scopes, s))) {
      throw forbidden(`This API key lacks the '${scope}' scope.`);
    }
    await next();
  };
}
