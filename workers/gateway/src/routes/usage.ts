/** GET /v1/usage: the key's tenant's token usage per day and model (the admin's view is /admin/tenants/{id}/usage). */
import { usageReport } from "../../../../lib/db/usage-report.js";
import { UsageQuerySchema, UsageReportSchema } from "../../../../lib/protocol/index.js";
import { requireScope } from "../middleware/auth.js";
import { router } from "../validation.js";
import { errorBody, json, keyRoute } from "./openapi.js";

export const USAGE_DESCRIPTION = "Token usage per UTC day and model, as the tenant's limiter records it (up to CIO_USAGE_FLUSH_MS behind)";

const route = keyRoute("get", "/v1/usage", "The tenant's token usage per day and model, with its daily budget", {
  middleware: requireScope("usage"),
  request: { query: UsageQuerySchema },
  responses: { 200: { description: USAGE_DESCRIPTION, ...json(UsageReportSchema) }, 400: errorBody("Invalid dates or range") },
});

export const usage = router().openapi(route, async (c) => {
  const { tenantId, limits } = c.get("auth");
  return c.json(await usageReport(c.env.DB, tenantId, limits.dailyTokenBudget, c.req.valid("query")), 200);
});
