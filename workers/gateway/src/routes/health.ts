import { createRoute, z } from "@hono/zod-openapi";
import { limiterStub } from "../../../../lib/do-names.js";
import { runCheck } from "../../../../lib/health.js";
import type { HealthReport } from "../../../../lib/protocol/index.js";
import { router } from "../validation.js";

const Check = z.object({ ok: z.boolean(), ms: z.number(), error: z.string().optional() });
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
    return c.json({ status: ok ? ("ok" as const) : ("degraded" as const), checks }, ok ? 200 : 503);
  });
