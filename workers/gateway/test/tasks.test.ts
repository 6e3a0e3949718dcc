import { createExecutionContext, env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { openDb, schema } from "../../../lib/db/index.js";
import { limiterStub } from "../../../lib/do-names.js";
import { r2Keys } from "../../../lib/heavy/ids.js";
import { withDirective } from "../../../test/mock-upstream/directive.js";
import { call, newTenant } from "../../../test/support/fixtures.js";
import { uploaded, waitFor } from "../../../test/support/heavy.js";
import type { GatewayEnv } from "../src/env.js";
import gatewayWorker from "../src/index.js";

const CSV = "city,temp\nOslo,3\nBergen,7\nOslo,5\n";
const post = (headers: Record<string, string>, body: unknown) => call("/v1/tasks", { method: "POST", headers, body: JSON.stringify(body) });
const testEnv = env as unknown as GatewayEnv & { TEST_HEAVY_OFFLINE: GatewayEnv["HEAVY"] };
const tasksOf = (tenantId: string) => openDb(testEnv.DB).select().from(schema.tasks).where(eq(schema.tasks.tenantId, tenantId));
const finished = (t: Record<string, any>) => ["succeeded", "failed", "cancelled"].includes(t.status);

describe("tasks API", { timeout: 90_000 }, () => {
  it("runs a file analysis on the queue and serves its progress and result", async () => {
    const t = await newTenant();
    const file = await uploaded(t.headers, "weather.csv", CSV);
    const res = await post(t.headers, { type: "file_analysis", params: { file_id: file.id, group_by: "city", aggregates: [{ column: "temp", op: "mean" }] } });
    expect(res.status).toBe(202);
    const task = await res.json<Record<string, any>>();
    expect(task).toMatchObject({ object: "task", type: "file_analysis", status: "queued", progress: 0, result_url: null });
    // The key is kept with the task: revoked before the task runs, it stops it (queues/heavy/task-standing.ts).
    expect((await tasksOf(t.tenantId)).map((r) => r.keyId)).toEqual([t.keyId]);
    const done = await waitFor(t.headers, `/v1/tasks/${task.id}`, finished);
    expect(done).toMatchObject({ status: "succeeded", progress: 1, eta_s: 0, attempts: 1, error: null, result_url: `/v1/tasks/${task.id}/result` });
    expect(done.summary).toContain("weather.csv: 3 rows, 2 columns");
    const result = await (await call(done.result_url, { headers: t.headers })).json<Record<string, any>>();
    expect(result.columns[1]).toMatchObject({ name: "temp", type: "integer", min: 3, max: 7, mean: 5 });
    expect(result.group_by.groups).toEqual([
      { key: "Oslo", rows: 2, values: { "mean(temp)": 4 } },
      { key: "Bergen", rows: 1, values: { "mean(temp)": 7 } },
    ]);
  });

  it("queues and runs a file analysis while the tenant's daily token budget is spent: it runs no model (an image task is refused)", async () => {
    const t = await newTenant({ daily_token_budget: 10 });
    const file = await uploaded(t.headers, "weather.csv", CSV);
    await limiterStub(testEnv.RATE_LIMITER, t.tenantId).settle(null, { tenantId: t.tenantId, model: "mock-model", usage: { prompt_tokens: 6, completion_tokens: 6, total_tokens: 12 } });
    const image = await post(t.headers, { type: "image_generation", params: { prompt: "a lighthouse" } });
    expect([image.status, (await image.json<{ error: { code: string } }>()).error.code]).toEqual([429, "budget_exceeded"]);
    const res = await post(t.headers, { type: "file_analysis", params: { file_id: file.id } });
    expect(res.status).toBe(202);
    const done = await waitFor(t.headers, `/v1/tasks/${(await res.json<{ id: string }>()).id}`, finished);
    expect(done).toMatchObject({ status: "succeeded" });
  });

  it("runs a long text generation as a task with its completion stored, a request written to stream too", async () => {
    const t = await newTenant();
    const messages = [{ role: "user", content: withDirective("write", { text: "A long essay." }) }];
    // A task's answer is stored whole: a request that asked for a stream (and its usage chunk) runs unstreamed.
    for (const extra of [{}, { stream: true, stream_options: { include_usage: true } }]) {
      const res = await post(t.headers, { type: "chat_completion", params: { request: { model: "mock-model", messages, ...extra } } });
      expect(res.status).toBe(202);
      const done = await waitFor(t.headers, `/v1/tasks/${(await res.json<{ id: string }>()).id}`, finished);
      expect(done).toMatchObject({ type: "chat_completion", status: "succeeded", summary: "A long essay." });
      const completion = await (await call(done.result_url, { headers: t.headers })).json<Record<string, any>>();
      expect(completion).toMatchObject({ object: "chat.completion", choices: [{ message: { content: "A long essay." } }], usage: { total_tokens: expect.any(Number) } });
    }
  });

  it("fails a task whose model call is rejected, with the error", async () => {
    const t = await newTenant();
    const content = withDirective("bad", { status: 400, errorMessage: "max_tokens is too large" });
    const res = await post(t.headers, { type: "chat_completion", params: { request: { model: "mock-model", messages: [{ role: "user", content }] } } });
    const done = await waitFor(t.headers, `/v1/tasks/${(await res.json<{ id: string }>()).id}`, finished);
    expect(done).toMatchObject({ status: "failed", error: { message: "max_tokens is too large" }, result_url: null });
    expect((await call(`/v1/tasks/${done.id}/result`, { headers: t.headers })).status).toBe(409);
  });

  it("rejects bad requests with OpenAI errors and queues nothing", async () => {
    const t = await newTenant();
    const other = await newTenant();
    const batchFile = await uploaded(t.headers, "b.jsonl", "{}\n", "batch");
    const foreign = await uploaded(other.headers, "w.csv", CSV);
    const cases: [unknown, string | null][] = [
      [{ type: "nope", params: {} }, "type"],
      [{ type: "file_analysis", params: {} }, "params.file_id"],
      [{ type: "file_analysis", params: { file_id: "file-missing" } }, "params.file_id"],
      [{ type: "file_analysis", params: { file_id: batchFile.id } }, "params.file_id"],
      [{ type: "file_analysis", params: { file_id: foreign.id } }, "params.file_id"],
      [{ type: "image_generation", params: {} }, "params.prompt"],
      [{ type: "image_generation", params: { prompt: "  " } }, "params.prompt"],
      [{ type: "image_generation", params: { prompt: "a cat", size: "big" } }, "params.size"],
      [{ type: "image_generation", params: { prompt: "a cat", size: "4096x4096" } }, "params.size"],
      [{ type: "image_generation", params: { prompt: "a cat", steps: 50 } }, "params.steps"],
      [{ type: "image_generation", params: { prompt: "a cat", model: "gpt-image-1" } }, "params.model"],
      // Well-formed, but not a model the heavy consumer offers (its answer, asked before queueing).
      [{ type: "image_generation", params: { prompt: "a cat", model: "@cf/someone/expensive-model" } }, "params.model"],
      // A chat model the orchestrator does not answer: queued, it would only fail when run.
      [{ type: "chat_completion", params: { request: { model: "no-such-model", messages: [{ role: "user", content: "hi" }] } } }, "params.request.model"],
    ];
    for (const [body, param] of cases) {
      const res = await post(t.headers, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect((await res.json<{ error: { param: string | null; type: string } }>()).error).toMatchObject({ type: "invalid_request_error", param });
    }
    expect(await tasksOf(t.tenantId)).toEqual([]);
  });

  it("refuses an image task up front, with an OpenAI error, when the stack has no Workers AI", async () => {
    const t = await newTenant();
    // The gateway as deployed offline: its HEAVY binding reaches a consumer without Workers AI.
    const offline = { ...testEnv, HEAVY: testEnv.TEST_HEAVY_OFFLINE };
    const req = new Request("https://cio.test/v1/tasks", { method: "POST", headers: t.headers, body: JSON.stringify({ type: "image_generation", params: { prompt: "a cat" } }) });
    const res = await gatewayWorker.fetch(req, offline, createExecutionContext());
    expect(res.status).toBe(501);
    const { error } = await res.json<{ error: Record<string, unknown> }>();
    expect(error).toMatchObject({ type: "server_error", code: "ai_not_configured", param: null });
    expect(String(error.message)).toContain("Image generation needs Workers AI");
    expect(await tasksOf(t.tenantId)).toEqual([]);
  });

  it("cancels a queued task, which then never runs; a finished task cannot be cancelled", async () => {
    const t = await newTenant();
    const res = await post(t.headers, { type: "chat_completion", params: { request: { model: "mock-model", messages: [{ role: "user", content: "hi" }] } } });
    const { id } = await res.json<{ id: string }>();
    const cancel = await call(`/v1/tasks/${id}/cancel`, { method: "POST", headers: t.headers });
    expect(cancel.status).toBe(200);
    expect(await cancel.json()).toMatchObject({ id, status: "cancelled" });
    await new Promise((r) => setTimeout(r, 2500)); // the consumer receives the message meanwhile
    expect(await (await call(`/v1/tasks/${id}`, { headers: t.headers })).json()).toMatchObject({ status: "cancelled", attempts: 0 });
    const again = await call(`/v1/tasks/${id}/cancel`, { method: "POST", headers: t.headers });
    expect(again.status).toBe(409);
    // No retry makes a finished task cancellable: OpenAI's SDKs, which retry a 409, are told not to.
    expect(again.headers.get("x-should-retry")).toBe("false");
  });

  it("keeps tenants apart: another tenant's task is not found", async () => {
    const a = await newTenant();
    const b = await newTenant();
    const file = await uploaded(a.headers, "w.csv", CSV);
    const { id } = await (await post(a.headers, { type: "file_analysis", params: { file_id: file.id } })).json<{ id: string }>();
    expect((await call(`/v1/tasks/${id}`, { headers: b.headers })).status).toBe(404);
    expect((await call(`/v1/tasks/${id}/result`, { headers: b.headers })).status).toBe(404);
    expect((await call(`/v1/tasks/${id}/cancel`, { method: "POST", headers: b.headers })).status).toBe(404);
    await waitFor(a.headers, `/v1/tasks/${id}`, finished);
  });

  it("lists the tenant's tasks newest first, a page at a time, by status and type, and no one else's", async () => {
    const a = await newTenant();
    const b = await newTenant();
    const row = (tenantId: string, id: string, type: "file_analysis" | "chat_completion", status: "queued" | "failed" | "succeeded", createdAt: number) =>
      ({ id, tenantId, type, status, params: {}, createdAt, updatedAt: createdAt });
    const base = Date.now();
    await openDb(testEnv.DB).insert(schema.tasks).values([
      row(a.tenantId, `task_a1_${base}`, "file_analysis", "succeeded", base - 3000),
      row(a.tenantId, `task_a2_${base}`, "chat_completion", "failed", base - 2000),
      row(a.tenantId, `task_a3_${base}`, "chat_completion", "queued", base - 1000),
      row(b.tenantId, `task_b1_${base}`, "chat_completion", "queued", base),
    ]);
    const list = async (headers: Record<string, string>, query = "") => {
      const res = await call(`/v1/tasks${query}`, { headers });
      return { status: res.status, body: await res.json<Record<string, any>>() };
    };
    const ids = (body: Record<string, any>) => body.data.map((t: { id: string }) => t.id.split("_")[1]);

    const all = await list(a.headers);
    expect(all.status).toBe(200);
    expect(all.body).toMatchObject({ object: "list", has_more: false, first_id: `task_a3_${base}`, last_id: `task_a1_${base}` });
    expect(ids(all.body)).toEqual(["a3", "a2", "a1"]);
    expect(all.body.data[1]).toMatchObject({ object: "task", type: "chat_completion", status: "failed", result_url: null });

    const first = await list(a.headers, "?limit=2");
    expect([ids(first.body), first.body.has_more]).toEqual([["a3", "a2"], true]);
    const next = await list(a.headers, `?limit=2&after=${first.body.last_id}`);
    expect([ids(next.body), next.body.has_more]).toEqual([["a1"], false]);

    expect(ids((await list(a.headers, "?status=failed")).body)).toEqual(["a2"]);
    expect(ids((await list(a.headers, "?type=chat_completion")).body)).toEqual(["a3", "a2"]);
    expect(ids((await list(a.headers, "?type=chat_completion&status=queued")).body)).toEqual(["a3"]);
    expect(ids((await list(b.headers)).body)).toEqual(["b1"]);

    const badStatus = await list(a.headers, "?status=done");
    expect([badStatus.status, badStatus.body.error.param]).toEqual([400, "status"]);
    // Another tenant's task is no cursor here: it is unknown, as it would be by id.
    const foreignCursor = await list(a.headers, `?after=task_b1_${base}`);
    expect([foreignCursor.status, foreignCursor.body.error.param]).toEqual([400, "after"]);
    const chatOnly = await newTenant({}, { scopes: ["chat"] });
    expect((await list(chatOnly.headers)).status).toBe(403);
  });

  it("deletes a finished task with its input and result; one still running or a batch's is a 409, another tenant's a 404", async () => {
    const a = await newTenant();
    const b = await newTenant();
    const task = async (status: "succeeded" | "running", type: "chat_completion" | "batch" = "chat_completion") => {
      const id = `task_${crypto.randomUUID().replace(/-/g, "")}`;
      const keys = [r2Keys.taskInput(a.tenantId, id), r2Keys.taskResult(a.tenantId, id)];
      for (const key of keys) await testEnv.FILES.put(key, "{}");
      await openDb(testEnv.DB).insert(schema.tasks).values({ id, tenantId: a.tenantId, type, status, params: { batchId: "batch_x" }, inputRef: keys[0], resultRef: keys[1] });
      return { id, keys };
    };
    const del = (id: string, headers = a.headers) => call(`/v1/tasks/${id}`, { method: "DELETE", headers });
    const stored = async (keys: string[]) => (await Promise.all(keys.map((k) => testEnv.FILES.head(k)))).filter(Boolean).length;

    const done = await task("succeeded");
    const foreign = await del(done.id, b.headers);
    expect(foreign.status).toBe(404);
    expect(await stored(done.keys)).toBe(2);
    const res = await del(done.id);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ id: done.id, object: "task.deleted", deleted: true });
    expect(await stored(done.keys)).toBe(0);
    expect((await call(`/v1/tasks/${done.id}`, { headers: a.headers })).status).toBe(404);
    expect((await del(done.id)).status).toBe(404);

    const running = await task("running");
    const refused = await del(running.id);
    expect([refused.status, (await refused.json<Record<string, any>>()).error.code]).toEqual([409, "task_not_finished"]);
    expect(refused.headers.get("x-should-retry")).toBeNull(); // it may finish: a later try may succeed
    const batch = await task("succeeded", "batch");
    const batchRefused = await del(batch.id);
    expect([batchRefused.status, (await batchRefused.json<Record<string, any>>()).error.code]).toEqual([409, "task_is_batch"]);
    for (const t of [running, batch]) {
      expect(await stored(t.keys)).toBe(2);
      expect((await call(`/v1/tasks/${t.id}`, { headers: a.headers })).status).toBe(200);
    }
  });
});
