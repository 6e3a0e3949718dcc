import { createRoute, z } from "@hono/zod-openapi";
import { limiterStub } from "../../../../lib/do-names.js";
import { runCheck } from "../../../../lib/health.js";
import type { HealthReport } from "../../../../lib/protocol/index.js";
import type { Logger } from "../../../../lib/log.js";
import { router } from "../validation.js";
import { isAdmin } from "./admin/admin-auth.js";

const Check = z.object({
  ok: z.boolean(),
  ms: z.number(),
  error: z.string().optional().meta({ description: "`failed`; the dependency's own error only to a caller sending the admin token (it is logged with the request id)" }),
});
const Deep = z.object({ status: z.enum(["ok", "degraded"]), checks: z.record(z.string(), Check) }).meta({ id: "DeepHealth" });

const live = createRoute({
  method: "get",
  path: "/health",
  summary: "Liveness",
  responses: { 200: { description: "The gateway is up", content: { "application/json": { schema: z.object({ status: z.literal("ok") }) } } } },
});

const deep = createRoute({
  method: "get",
  path: "/health/deep",
  summary: "Readiness: D1, the orchestrator, a Durable Object",
  description: "No credentials needed. A failed check says only `failed` (its detail is logged with the request id); send the admin token for the detail.",
  responses: {
    200: { description: "Every dependency answered", content: { "application/json": { schema: Deep } } },
    503: { description: "A dependency failed", content: { "application/json": { schema: Deep } } },
  },
});

export const health = router()
  .openapi(live, (c) => c.json({ status: "ok" as const }, 200))
  .openapi(deep, async (c) => {
    const checks: HealthReport["checks"] = {};
    await Promise.all([
      runCheck(checks, "d1", () => c.env.DB.prepare("SELECT 1").first()),
      runCheck(checks, "durable_object", () => limiterStub(c.env.RATE_LIMITER, "__health__").snapshot("__health__")),
      runCheck(checks, "orchestrator", async () => {
        const report = await c.env.ORCHESTRATOR.health();
        for (const [name, v] of Object.entries(report.checks)) checks[`orchestrator.${name}`] = v;
        if (!report.ok) throw new Error("orchestrator dependencies failed");
      }),
    ]);
    const ok = Object.values(checks).every((x) => x.ok);
    const shown = withoutDetail(checks, c.get("log"));
    return c.json({ status: ok ? ("ok" as const) : ("degraded" as const), checks: isAdmin(c) ? checks : shown }, ok ? 200 : 503);
  });

/**
 * The checks as anyone may see them: a failure says only `failed`, and its detail goes to the log (always). The route
 * needs no credentials, and a dependency's error told strangers table names, binding names and tool Workers' errors.
 */
function withoutDetail(checks: HealthReport["checks"], log: Logger): HealthReport["checks"] {
  const shown: HealthReport["checks"] = {};
  for (const [name, { error, ...check }] of Object.entries(checks)) {
    if (error !== undefined) log.error("health check failed", { check: name, error });
    shown[name] = error === undefined ? check : { ...check, error: "failed" };
  }
  return shown;
}
