/**
 * First middleware of every request: settings, logger with the request id, the clock for
 * `x-cio-overhead-ms`, and one access-log line when the response is ready.
 */
import type { MiddlewareHandler } from "hono";
import { ApiError } from "../../../../lib/errors.js";
import { Logger } from "../../../../lib/log.js";
import type { GatewayApp } from "../env.js";
import { gatewaySettings } from "../settings.js";

export function requestContext(): MiddlewareHandler<GatewayApp> {
  return async function requestContext(c, next) {
    const settings = gatewaySettings(c.env);
    const startedAt = Date.now();
    c.set("settings", settings);
    c.set("startedAt", startedAt);
    c.set("upstreamMs", 0);
    c.set("log", new Logger({ component: "gateway", requestId: c.get("requestId") }, settings.CIO_LOG_LEVEL));
    await next();
    const total = Date.now() - startedAt;
    c.res.headers.set("x-request-id", c.get("requestId"));
    c.res.headers.set("x-cio-overhead-ms", String(Math.max(0, total - c.get("upstreamMs"))));
    const status = c.res.status;
    const level = status >= 500 ? "error" : status >= 400 ? "warn" : "info";
    c.get("log")[level]("request", { method: c.req.method, path: c.req.path, status, ms: total });
  };
}

/** JSON bodies only: a clear 415 rather than a confusing validation error for form posts and the like. */
export function requireJson(except: (path: string, method: string) => boolean = () => false): MiddlewareHandler<GatewayApp> {
  return async function requireJson(c, next) {
    const method = c.req.method;
    if (except(c.req.path, method)) return next();
    if (method === "POST" || method === "PUT" || method === "PATCH") {
      const type = c.req.header("content-type") ?? "";
      const hasBody = c.req.header("content-length") !== "0" && (c.req.raw.body !== null || type !== "");
      if (hasBody && !/^application\/(?:[\w.+-]+\+)?json\b/i.test(type)) {
        throw new ApiError(415, "invalid_request_error", `Unsupported Content-Type '${type || "none"}': send application/json.`, "unsupported_media_type");
      }
    }
    await next();
  };
}
