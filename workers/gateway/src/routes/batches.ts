/** OpenAI Batch API over an uploaded JSONL of chat requests; the work runs in queues/heavy. */
import { createRoute } from "@hono/zod-openapi";
import { and, desc, eq, lt } from "drizzle-orm";
import { openDb, schema } from "../../../../lib/db/index.js";
import { cancelBatch, createBatch, getBatch, toBatchObject } from "../../../../lib/heavy/batches.js";
import { BatchObjectSchema, CreateBatchSchema, ErrorBodySchema } from "../../../../lib/protocol/index.js";
import { requireScope } from "../middleware/auth.js";
import { rateLimit } from "../middleware/rate-limit.js";
import { router } from "../validation.js";

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
  });
  return c.json(toBatchObject(row), 200);
});

batches.use("/v1/batches", requireScope("tasks"));
batches.use("/v1/batches/*", requireScope("tasks"));

batches.get("/v1/batches", async (c) => {
  const b = schema.batches;
  const limit = Math.min(100, Math.max(1, Number(c.req.query("limit") ?? 20) || 20));
  const after = c.req.query("after");
  const cursor = after ? await getBatch(c.env.DB, c.get("auth").tenantId, after) : null;
  const rows = await openDb(c.env.DB)
    .select()
    .from(b)
    .where(and(eq(b.tenantId, c.get("auth").tenantId), cursor ? lt(b.createdAt, cursor.createdAt) : undefined))
    .orderBy(desc(b.createdAt))
    .limit(limit + 1);
  const data = rows.slice(0, limit).map(toBatchObject);
  return c.json({ object: "list", data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: rows.length > limit }, 200);
});

batches.get("/v1/batches/:id", async (c) => c.json(toBatchObject(await getBatch(c.env.DB, c.get("auth").tenantId, c.req.param("id"))), 200));

batches.post("/v1/batches/:id/cancel", async (c) => {
  const tenantId = c.get("auth").tenantId;
  await cancelBatch(c.env, tenantId, c.req.param("id"), c.get("requestId"));
  return c.json(toBatchObject(await getBatch(c.env.DB, tenantId, c.req.param("id"))), 200);
});
