/**
 * The gateway: the only public entry. Request id, body limit, CORS, authentication, rate limits,
 * validation and OpenAI's wire format live here; every decision about answering lives in the orchestrator.
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { requestId } from "hono/request-id";
import { ApiError, notFound } from "../../../lib/errors.js";
import { errorResponse } from "../../../lib/http/errors.js";
import { Logger } from "../../../lib/log.js";
import type { GatewayApp } from "./env.js";
import { perSettings } from "./settings.js";
import { apiKeyAuth } from "./middleware/auth.js";
import { requestContext, requireJson } from "./middleware/request-context.js";
import { adminAuth } from "./routes/admin/admin-auth.js";
import { auditLog } from "./routes/admin/audit-log.js";
import { credentials } from "./routes/admin/keys.js";
import { tenants } from "./routes/admin/tenants.js";
import { batches } from "./routes/batches.js";
import { tools } from "./routes/admin/tools.js";
import { chat } from "./routes/chat.js";
import { docs } from "./routes/docs.js";
import { councils } from "./routes/councils.js";
import { trading } from "./routes/trading.js";
import { feedback } from "./routes/feedback.js";
import { usage } from "./routes/usage.js";
import { files, isUpload } from "./routes/files.js";
import { health } from "./routes/health.js";
import { models } from "./routes/models.js";
import { tasks } from "./routes/tasks.js";
import { runnerConnect } from "./routes/runners/connect.js";
import { runners } from "./routes/runners/runners.js";
import { sessionSocket } from "./routes/session-socket.js";
import { sessions } from "./routes/sessions.js";
import { methodNotAllowed } from "./method-not-allowed.js";

export const EXPOSED_HEADERS = [
  "x-request-id",
  "x-cio-overhead-ms",
  "retry-after",
  "retry-after-ms",
  "x-should-retry",
  "x-ratelimit-limit-requests",
  "x-ratelimit-remaining-requests",
  "x-ratelimit-reset-requests",
  "x-ratelimit-limit-tokens",
  "x-ratelimit-remaining-tokens",
  "x-ratelimit-reset-tokens",
  // A streamed runner query's id, which a browser needs to cancel the query it started without naming one.
  "x-cio-query-id",
];

// Middleware that depends on settings is built once per settings object (settings are parsed once per env),
// not once per request: building them showed in profiles of the hot path.
const corsFor = perSettings((s) => cors({ origin: s.CIO_CORS_ORIGINS, exposeHeaders: EXPOSED_HEADERS, maxAge: 600 }));
const bodyLimitFor = perSettings((s) =>
  bodyLimit({
    maxSize: s.CIO_MAX_BODY_BYTES,
    onError: () => {
      throw new ApiError(413, "invalid_request_error", `Request body exceeds ${s.CIO_MAX_BODY_BYTES} bytes.`, "request_too_large");
    },
  }),
);

export function createApp() {
  const app = new OpenAPIHono<GatewayApp>();
  app.use(requestId({ headerName: "x-request-id", limitLength: 128 }));
  app.use(requestContext());
  app.use("*", (c, next) => corsFor(c.get("settings"))(c, next));
  app.use("*", (c, next) => (isUpload(c.req.path, c.req.method) ? next() : bodyLimitFor(c.get("settings"))(c, next)));
  app.use("/v1/*", requireJson(isUpload));
  app.use("/admin/*", requireJson());

  app.route("/", health);
  app.use("/admin/*", adminAuth());
  app.route("/", tenants);
  app.route("/", auditLog);
  app.route("/", credentials);
  app.route("/", tools);
  app.route("/", runnerConnect); // runner token, not an API key
  app.route("/", sessionSocket); // API key or a one-time ticket (browsers)
  app.use("/v1/*", apiKeyAuth());
  app.route("/", models);
  app.route("/", chat);
  app.route("/", councils);
  app.route("/", trading);
  app.route("/", files);
  app.route("/", tasks);
  app.route("/", batches);
  app.route("/", feedback);
  app.route("/", usage);
  app.route("/", runners);
  app.route("/", sessions);

  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", { type: "http", scheme: "bearer", description: "API key (sk-cio-…)" });
  app.openAPIRegistry.registerComponent("securitySchemes", "admin", { type: "http", scheme: "bearer", description: "CIO_ADMIN_TOKEN" });
  app.openAPIRegistry.registerComponent("securitySchemes", "runner", { type: "http", scheme: "bearer", description: "A runner token (POST /admin/tenants/{id}/runner-tokens)" });
  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: { title: "CIO Edge API", version: "1.0.0", description: "OpenAI-compatible chat completions with orchestration, sessions, councils, runners and heavy work." },
  });
  app.route("/", docs);

  app.notFound((c) => {
    const allowed = methodNotAllowed(app.routes, c.req.method, c.req.path);
    if (allowed) {
      throw new ApiError(405, "invalid_request_error", `Method ${c.req.method} is not allowed on ${c.req.path}.`, "method_not_allowed", null, { allow: allowed.join(", ") });
    }
    throw notFound(`Unknown route: ${c.req.method} ${c.req.path}`, "unknown_url");
  });
  // A request whose settings did not parse has no logger yet: its error (naming the bad setting) is still logged.
  app.onError((err, c) => errorResponse(c, err, c.get("log") ?? new Logger({ component: "gateway", requestId: c.get("requestId") })));
  return app;
}
