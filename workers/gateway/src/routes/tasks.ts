/**
 * Tasks API: start a long job (`POST /v1/tasks`), list them, follow one (`GET /v1/tasks/:id`, also pushed as
 * `task` events to the session), read its result from R2, cancel it, delete it once it has ended.
 */
import { z } from "@hono/zod-openapi";
import { and, eq } from "drizzle-orm";
import { schema } from "../../../../lib/db/index.js";
import { listOf, pageOf } from "../../../../lib/db/pages.js";
import { ApiError, badRequest, conflict } from "../../../../lib/errors.js";
import { cancelBatch, getBatch } from "../../../../lib/heavy/batches.js";
import { publishTask } from "../../../../lib/heavy/events.js";
import { findFile, getFile } from "../../../../lib/heavy/files.js";
import { newTaskId, r2Keys } from "../../../../lib/heavy/ids.js";
import { deleteTasks } from "../../../../lib/heavy/task-retention.js";
import { cancelTask, enqueueTask, getTask, toTaskObject } from "../../../../lib/heavy/tasks.js";
import { CreateTaskSchema, ListTasksQuerySchema, TaskObjectSchema, TERMINAL } from "../../../../lib/protocol/index.js";
import type { Logger } from "../../../../lib/log.js";
import type { GatewayEnv } from "../env.js";
import { requireScope } from "../middleware/auth.js";
import { requireSession } from "./session-ref.js";
import { rateLimit, type SpendsTokens } from "../middleware/rate-limit.js";
import { router } from "../validation.js";
import { requireModel } from "./models.js";
import { byKey } from "./key-audit.js";
import { errorBody, IdParam, json, keyRoute, PageSchema, rateLimited } from "./openapi.js";

const notFound = { 404: errorBody("No such task") };

const list = keyRoute("get", "/v1/tasks", "List the tenant's tasks, newest first, optionally of one status and type; pass the last id as `after` for the next page", {
  middleware: requireScope("tasks"),
  request: { query: ListTasksQuerySchema },
  responses: { 200: { description: "A page of tasks", ...json(PageSchema(TaskObjectSchema)) }, 400: errorBody("Invalid query") },
});
const get = keyRoute("get", "/v1/tasks/{id}", "A task's status, progress, summary and error", {
  request: { params: IdParam },
  responses: { 200: { description: "The task", ...json(TaskObjectSchema) }, ...notFound },
});
const result = keyRoute("get", "/v1/tasks/{id}/result", "A finished task's result: JSON (an analysis, a completion) or the image, with its content type", {
  request: { params: IdParam },
  responses: {
    200: {
      description: "The result",
      content: { "application/json": { schema: { type: "object" as const } }, "image/jpeg": { schema: { type: "string" as const, format: "binary" } }, "image/png": { schema: { type: "string" as const, format: "binary" } } },
    },
    ...notFound,
    409: errorBody("The task has no result (yet)"),
  },
});
const remove = keyRoute("delete", "/v1/tasks/{id}", "Delete a finished task with its input and result", {
  request: { params: IdParam },
  responses: {
    200: { description: "Deleted", ...json(z.object({ id: z.string(), object: z.literal("task.deleted"), deleted: z.literal(true) })) },
    ...notFound,
    409: errorBody("The task has not ended (cancel it first), or it runs a batch (it ends with its batch)"),
  },
});
const cancel = keyRoute("post", "/v1/tasks/{id}/cancel", "Cancel a queued or running task (a batch's task cancels its batch)", {
  request: { params: IdParam },
  responses: { 200: { description: "The task, cancelled", ...json(TaskObjectSchema) }, ...notFound, 409: errorBody("The task has already ended") },
});

/**
 * A file analysis runs no model, so a spent daily budget does not refuse it (its rates still apply); the other
 * tasks do. Read before validation, which comes after the route's middleware: the body is parsed once and
 * kept for the validator, and one that is not a task's is refused there, whatever is answered here.
 */
const taskSpendsTokens: SpendsTokens = async (c) => (await c.req.json<{ type?: unknown } | null>().catch(() => null))?.type !== "file_analysis";

const create = keyRoute("post", "/v1/tasks", "Start a long-running task (file analysis, long text generation, image generation) on the heavy queue", {
  middleware: [requireScope("tasks"), rateLimit({ spendsTokens: taskSpendsTokens })] as const,
  request: { body: { required: true, content: { "application/json": { schema: CreateTaskSchema } } } },
  responses: {
    202: { description: "The task was queued", content: { "application/json": { schema: TaskObjectSchema } } },
    ...rateLimited,
    501: errorBody("This deployment cannot run the task (image generation without Workers AI)"),
    503: errorBody("queue_unavailable: the heavy queue did not take the task; try again"),
  },
});

export const tasks = router().openapi(create, async (c) => {
  const body = c.req.valid("json");
  const auth = c.get("auth");
  const base = { tenantId: auth.tenantId, requestId: c.get("requestId"), sessionId: body.session_id ?? null, keyId: auth.keyId };
  // Checked before anything is written: the task's events go to that session.
  await requireSession(c.env.DB, auth, base.sessionId);
  if (body.type === "file_analysis") {
    // Only a missing file is the caller's mistake; a lookup that failed is ours and surfaces as such.
    const file = await findFile(c.env.DB, auth.tenantId, body.params.file_id);
    if (!file) throw badRequest(`No such File object: ${body.params.file_id}`, "params.file_id", "file_not_found");
    if (file.purpose !== "analysis") throw badRequest(`File ${file.id} was uploaded for '${file.purpose}', not 'analysis'.`, "params.file_id");
    const row = await enqueueTask(c.env, { ...base, type: "file_analysis", params: body.params });
    await publishTask(c.env, row, c.get("log"));
    return c.json(toTaskObject(row), 202);
  }
  if (body.type === "image_generation") {
    await refuseUnrunnableImage(c.env, body.params.model, c.get("log"));
    const row = await enqueueTask(c.env, { ...base, type: "image_generation", params: body.params });
    await publishTask(c.env, row, c.get("log"));
    return c.json(toTaskObject(row), 202);
  }
  await requireModel(c.env, body.params.request.model, "params.request.model");
  const id = newTaskId();
  const inputRef = r2Keys.taskInput(auth.tenantId, id);
  await c.env.FILES.put(inputRef, JSON.stringify(body.params.request), { httpMetadata: { contentType: "application/json" } });
  // The job is admitted by the rate limiter when it runs, under this key's limits (as a batch's requests are).
  const row = await enqueueTask(c.env, { ...base, id, type: "chat_completion", params: { keyId: auth.keyId, limits: auth.limits, model: body.params.request.model }, inputRef });
  await publishTask(c.env, row, c.get("log"));
  return c.json(toTaskObject(row), 202);
});

/**
 * Asks the heavy consumer whether it can generate this image, so a stack without Workers AI (offline
 * `npm start`) answers a clear error now instead of a task that fails later. If the consumer cannot be
 * asked, the task is queued anyway: the job makes the same check and fails the task with the reason.
 */
async function refuseUnrunnableImage(env: GatewayEnv, model: string | undefined, log: Logger): Promise<void> {
  if (!env.HEAVY) return;
  const refusal = await env.HEAVY.imageRefusal(model).catch((err: unknown) => {
    log.warn("could not ask the heavy consumer about image generation; queueing anyway", { err });
    return null;
  });
  if (!refusal) return;
  if (refusal.code === "model_not_allowed") throw badRequest(refusal.message, "params.model", refusal.code);
  throw new ApiError(501, "server_error", refusal.message, refusal.code);
}

tasks.use("/v1/tasks/*", requireScope("tasks"));

tasks.openapi(list, async (c) => {
  const { limit, after, status, type } = c.req.valid("query");
  const t = schema.tasks;
  const filter = and(status ? eq(t.status, status) : undefined, type ? eq(t.type, type) : undefined);
  const page = await pageOf(c.env.DB, t, { tenantId: c.get("auth").tenantId, limit, after, filter, noun: "task" });
  return c.json(listOf(page.rows.map((row) => toTaskObject(row)), page.hasMore), 200);
});

tasks.openapi(get, async (c) => c.json(toTaskObject(await getTask(c.env.DB, c.get("auth").tenantId, c.req.valid("param").id)), 200));

tasks.openapi(result, async (c) => {
  const row = await getTask(c.env.DB, c.get("auth").tenantId, c.req.valid("param").id);
  if (!row.resultRef) throw new ApiError(409, "invalid_request_error", `Task ${row.id} is ${row.status} and has no result.`, "result_not_ready");
  // A batch's result is its output file (it has one: that is its resultRef), which may have expired
  // (output_expires_after): gone, as the file is.
  if (row.type === "batch") {
    const batch = await getBatch(c.env.DB, row.tenantId, (row.params as { batchId: string }).batchId);
    await getFile(c.env.DB, row.tenantId, batch.outputFileId!);
  }
  const obj = await c.env.FILES.get(row.resultRef);
  if (!obj) throw new ApiError(500, "server_error", `The result of task ${row.id} is missing.`, "result_missing");
  return new Response(obj.body, { headers: { "content-type": obj.httpMetadata?.contentType ?? "application/json" } }) as never;
});

tasks.openapi(remove, async (c) => {
  const tenantId = c.get("auth").tenantId;
  const row = await getTask(c.env.DB, tenantId, c.req.valid("param").id);
  if (row.type === "batch") {
    throw conflict(`Task ${row.id} runs batch ${(row.params as { batchId: string }).batchId}; it ends with its batch, whose files you can delete.`, "task_is_batch");
  }
  if (!TERMINAL.includes(row.status)) throw conflict(`Task ${row.id} is ${row.status}; cancel it before deleting it.`, "task_not_finished");
  await deleteTasks(c.env, [row], [byKey(c, "task.delete", row.id, { type: row.type, status: row.status })]);
  return c.json({ id: row.id, object: "task.deleted" as const, deleted: true as const }, 200);
});

tasks.openapi(cancel, async (c) => {
  const tenantId = c.get("auth").tenantId;
  const row = await getTask(c.env.DB, tenantId, c.req.valid("param").id);
  if (row.type === "batch") {
    // A batch's task ends when the batch does: cancel the batch, which finalizes what already ran.
    await cancelBatch(c.env, tenantId, (row.params as { batchId: string }).batchId, c.get("requestId"));
    return c.json(toTaskObject(await getTask(c.env.DB, tenantId, row.id)), 200);
  }
  const cancelled = await cancelTask(c.env.DB, tenantId, row.id);
  await publishTask(c.env, cancelled, c.get("log"));
  return c.json(toTaskObject(cancelled), 200);
});
