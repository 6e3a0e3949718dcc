import type { MiddlewareHandler } from "hono";
import { forbidden, unauthorized } from "../../../../../lib/errors.js";
import { timingSafeEqual } from "../../../../../lib/crypto.js";
import type { GatewayApp } from "../../env.js";

/** The admin API is for operators: a single bearer token from the Worker's secrets, compared in constant time. */
export function adminAuth(): MiddlewareHandler<GatewayApp> {
  return async function adminAuth(c, next) {
    const token = c.get("settings").CIO_ADMIN_TOKEN;
    if (!token) throw forbidden("The admin API is disabled: set CIO_ADMIN_TOKEN.", "admin_disabled");
    const given = /^Bearer\s+(\S+)$/i.exec(c.req.header("authorization") ?? "")?.[1];
    if (!given || !timingSafeEqual(given, token)) throw unauthorized("Invalid admin token.");
    c.set("log", c.get("log").child({ component: "admin" }));
    await next();
  };
}
