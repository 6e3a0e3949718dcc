/** OpenAI Batch API over an uploaded JSONL of chat requests; the work runs in queues/heavy. */
import { createRoute } from "@hono/zod-openapi";
import { schema } from "../../../../lib/db/index.js";
import { listOf, pageOf } from "../../../../lib/db/pages.js";
import { cancelBatch, createBatch, getBatchNow, toBatchObject, withLiveCounts } from "../../../../lib/heavy/batches.js";
import { BatchObjectSchema, CreateBatchSchema, ErrorBodySchema, ListBatchesQuerySchema } from "../../../../lib/protocol/index.js";
import { requireScope } from "../middleware/auth.js";
import { rateLimit } from "../middleware/rate-limit.js";
import { router, validQuery } from "../validation.js";

const errors = { content: { "application/json": { schema: ErrorBodySchema } } };

const create = createRoute({
  method: "post",
  path: "/v1/batches",
  summary: "Create a batch from an uploaded JSONL file of chat completion requests",
  security: [{ bearer: [] }],
  middleware: [requireScope("tasks"), rateLimit()] as const,
  request: { body: { required: true, content: { "application/json": { schema: CreateBatchSchema } } } },
  responses: {
    200: { description: "The batch, validating", content: { "application/json": { schema: BatchObjectSchema } } },
    400: { description: "Invalid request", ...errors },
  },
});

export const batches = router().openapi(create, async (c) => {
  const body = c.req.valid("json");
  const auth = c.get("auth");
  const row = await createBatch(c.env, {
    tenantId: auth.tenantId,
    keyId: auth.keyId,
    requestId: c.get("requestId"),
    limits: auth.limits,
    inputFileId: body.input_file_id,
    endpoint: body.endpoint,
    completionWindow: body.completion_window,
    metadata: body.metadata ?? null,
    outputExpiresAfterS: body.output_expires_after?.seconds ?? null,
  });
  return c.json(toBatchObject(row), 200);
});

batches.use("/v1/batches", requireScope("tasks"));
batches.use("/v1/batches/*", requireScope("tasks"));

batches.get("/v1/batches", async (c) => {
  const { limit, after } = validQuery(c, ListBatchesQuerySchema);
  const tenantId = c.get("auth").tenantId;
  const page = await pageOf(c.env.DB, schema.batches, { tenantId, limit, after, noun: "batch" });
  return c.json(listOf((await withLiveCounts(c.env.DB, tenantId, page.rows)).map(toBatchObject), page.hasMore), 200);
});

batches.get("/v1/batches/:id", async (c) => c.json(toBatchObject(await getBatchNow(c.env.DB, c.get("auth").tenantId, c.req.param("id"))), 200));

batches.post("/v1/batches/:id/cancel", async (c) => {
  const tenantId = c.get("auth").tenantId;
  await cancelBatch(c.env, tenantId, c.req.param("id"), c.get("requestId"));
  return c.json(toBatchObject(await getBatchNow(c.env.DB, tenantId, c.req.param("id"))), 200);
});
