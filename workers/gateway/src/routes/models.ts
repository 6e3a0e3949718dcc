import { createRoute } from "@hono/zod-openapi";
import { badRequest } from "../../../../lib/errors.js";
import { ModelListSchema } from "../../../../lib/protocol/index.js";
import type { GatewayEnv } from "../env.js";
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

/**
 * Work stored to run later (a session, a queued chat_completion task) names a model the orchestrator answers,
 * checked before anything is written: otherwise it was accepted and every turn of it failed later. A 400 on the
 * caller's field (the body names something that does not exist, as for an unknown image model), with the
 * code a chat completion's 404 has.
 */
export async function requireModel(env: GatewayEnv, model: string, param: string) {
  const known = (await env.ORCHESTRATOR.models()).map((m) => m.id);
  if (known.includes(model)) return;
  throw badRequest(`The model '${model}' does not exist. Available models: ${known.join(", ")}.`, param, "model_not_found");
}
