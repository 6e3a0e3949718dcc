import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { ApiError, badRequest } from "../../../../lib/errors.js";
import { ModelListSchema, ModelSchema } from "../../../../lib/protocol/index.js";
import type { GatewayApp, GatewayEnv } from "../env.js";
import { router } from "../validation.js";
import { errorBody, keyRoute } from "./openapi.js";

const list = keyRoute("get", "/v1/models", "List the models this deployment answers", {
  responses: { 200: { description: "OpenAI list of models", content: { "application/json": { schema: ModelListSchema } } } },
});

const retrieve = keyRoute("get", "/v1/models/{model}", "One model this deployment answers (ids holding '/' are sent URL-encoded, as OpenAI's SDKs do)", {
  request: { params: z.object({ model: z.string().min(1).max(256) }) },
  responses: {
    200: { description: "OpenAI model object", content: { "application/json": { schema: ModelSchema } } },
    404: errorBody("No such model"),
  },
});

async function one(c: Context<GatewayApp>, id: string) {
  const found = (await c.env.ORCHESTRATOR.models()).find((m) => m.id === id);
  // OpenAI's answer for an unknown model: 404 on `model`, code model_not_found (as a chat completion's).
  if (!found) throw new ApiError(404, "not_found_error", `The model '${id}' does not exist.`, "model_not_found", "model");
  return c.json(found, 200);
}

export const models = router()
  .openapi(list, async (c) => {
    const data = await c.env.ORCHESTRATOR.models();
    return c.json({ object: "list" as const, data }, 200);
  })
  .openapi(retrieve, (c) => one(c, c.req.valid("param").model))
  // The same model named with raw slashes (`/v1/models/cio/auto`, `/v1/models/@cf/meta/llama-3.1-8b-instruct`).
  .get("/v1/models/:model{.+}", (c) => one(c, c.req.param("model")));

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
