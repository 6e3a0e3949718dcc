import type { Context, MiddlewareHandler } from "hono";
import { forbidden, unauthorized } from "../../../../../lib/errors.js";
import { timingSafeEqual } from "../../../../../lib/crypto.js";
import type { GatewayApp } from "../../env.js";

/** The admin API is for operators: a single bearer token from the Worker's secrets, compared in constant time. */
export function adminAuth(): MiddlewareHandler<GatewayApp> {
  return async function adminAuth(c, next) {
    if (!c.get("settings").CIO_ADMIN_TOKEN) throw forbidden("The admin API is disabled: set CIO_ADMIN_TOKEN.", "admin_disabled");
    if (!isAdmin(c)) throw unauthorized("Invalid admin token.");
    c.set("log", c.get("log").child({ component: "admin" }));
    await next();
  };
}

/** Whether the request carries the admin token (never, while none is set): for routes that tell operators more. */
export function isAdmin(c: Context<GatewayApp>): boolean {
  const token = c.get("settings").CIO_ADMIN_TOKEN;
  const given = /^Bearer\s+(\S+)$/i.exec(c.req.header("authorization") ?? "")?.[1];
  return !!token && !!given && timingSafeEqual(given, token);
}
