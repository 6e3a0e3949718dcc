import { ApiError } from "../../../../lib/errors.js";
import { FeedbackRequestSchema, FeedbackResultSchema } from "../../../../lib/protocol/index.js";
import { requireScope } from "../middleware/auth.js";
import { router } from "../validation.js";
import { errorBody, keyRoute } from "./openapi.js";

const route = keyRoute("post", "/v1/feedback", "Rate an answer; the rating moves the ranking of the tools that answer used", {
  // Its own scope (a rating widget's key need not chat); keys that chat may rate their answers, as before.
  middleware: [requireScope("feedback", "chat")] as const,
  request: { body: { required: true, content: { "application/json": { schema: FeedbackRequestSchema } } } },
  responses: {
    200: { description: "The rating was applied to these tools", content: { "application/json": { schema: FeedbackResultSchema } } },
    404: errorBody("No answer with tool calls is known under this request id (for this tenant)"),
    409: errorBody("The answer has already been rated"),
  },
});

export const feedback = router().openapi(route, async (c) => {
  const reply = await c.env.ORCHESTRATOR.feedback({ tenantId: c.get("auth").tenantId, requestId: c.get("requestId"), body: c.req.valid("json") });
  if (reply.kind === "error") throw ApiError.from(reply.error);
  return c.json(reply.result, 200);
});
