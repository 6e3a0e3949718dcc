import { createRoute } from "@hono/zod-openapi";
import { ModelListSchema } from "../../../../lib/protocol/index.js";
import { router } from "../validation.js";

const route = createRoute({
  method: "get",
  path: "/v1/models",
  summary: "List the models this deployment answers",
  security: [{ bearer: [] }],
  responses: { 200: { description: "OpenAI list of models", content: { "application/json": { schema: ModelListSchema } } } },
});

export const models = router().openapi(route, async (c) => {
  const data = await c.env.ORCHESTRATOR.models();
  return c.json({ object: "list" as const, data }, 200);
});
