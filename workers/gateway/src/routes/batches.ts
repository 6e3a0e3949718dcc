/** OpenAI Batch API over an uploaded JSONL of chat requests; the work runs in queues/heavy. */
import { schema } from "../../../../lib/db/index.js";
import { listOf, pageOf } from "../../../../lib/db/pages.js";
import { cancelBatch, createBatch, getBatchNow, toBatchObject, withLiveCounts } from "../../../../lib/heavy/batches.js";
import { BatchObjectSchema, CreateBatchSchema, ListBatchesQuerySchema } from "../../../../lib/protocol/index.js";
import { requireScope } from "../middleware/auth.js";
import { rateLimit } from "../middleware/rate-limit.js";
import { router } from "../validation.js";
import { errorBody, IdParam, json, keyRoute, PageSchema, rateLimited } from "./openapi.js";

const notFound = { 404: errorBody("No such batch") };

const create = keyRoute("post", "/v1/batches", "Create a batch from an uploaded JSONL file of chat completion requests", {
  middleware: [requireScope("tasks"), rateLimit()] as const,
  request: { body: { required: true, content: { "application/json": { schema: CreateBatchSchema } } } },
  responses: {
    200: { description: "The batch, validating", content: { "application/json": { schema: BatchObjectSchema } } },
    ...rateLimited,
    503: errorBody("queue_unavailable: the heavy queue did not take the batch; try again"),
  },
});

const list = keyRoute("get", "/v1/batches", "List the tenant's batches, newest first, with live request counts; pass the last id as `after` for the next page", {
  request: { query: ListBatchesQuerySchema },
  responses: { 200: { description: "A page of batches", ...json(PageSchema(BatchObjectSchema)) }, 400: errorBody("Invalid query") },
});
const get = keyRoute("get", "/v1/batches/{id}", "A batch, with its request counts as of now", {
  request: { params: IdParam },
  responses: { 200: { description: "The batch", ...json(BatchObjectSchema) }, ...notFound },
});
const cancel = keyRoute("post", "/v1/batches/{id}/cancel", "Cancel a batch: no request starts after it; those already answered stay in its output", {
  request: { params: IdParam },
  responses: { 200: { description: "The batch, cancelling or cancelled", ...json(BatchObjectSchema) }, ...notFound, 409: errorBody("The batch has already ended") },
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

batches.openapi(list, async (c) => {
  const { limit, after } = c.req.valid("query");
  const tenantId = c.get("auth").tenantId;
  const page = await pageOf(c.env.DB, schema.batches, { tenantId, limit, after, noun: "batch" });
  return c.json(listOf((await withLiveCounts(c.env.DB, tenantId, page.rows)).map(toBatchObject), page.hasMore), 200);
});

batches.openapi(get, async (c) => c.json(toBatchObject(await getBatchNow(c.env.DB, c.get("auth").tenantId, c.req.valid("param").id)), 200));

batches.openapi(cancel, async (c) => {
  const tenantId = c.get("auth").tenantId;
  const { id } = c.req.valid("param");
  await cancelBatch(c.env, tenantId, id, c.get("requestId"));
  return c.json(toBatchObject(await getBatchNow(c.env.DB, tenantId, id)), 200);
});
