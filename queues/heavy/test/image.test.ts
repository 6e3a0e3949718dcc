/**
 * Image tasks on the heavy consumer, with Workers AI replaced at the edge by test/support/ai-mock (its
 * prompts steer failures: "flaky" fails once, "capacity" always with a retryable 3040, "forbidden" with a
 * non-retryable 5016, "slow" answers after 3 s).
 */
import { createExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { eq } from "drizzle-orm";
import { openDb, schema } from "../../../lib/db/index.js";
import type { AiRunner } from "../../../lib/ai/workers-ai.js";
import { limiterStub } from "../../../lib/do-names.js";
import { r2Keys } from "../../../lib/heavy/ids.js";
import flux from "../../../test/support/ai-mock/flux-1-schnell.json";
import type { HeavyEnv } from "../src/env.js";
import { HeavyInfo } from "../src/index.js";
import { deliver, deliverRecorded, env, keyOf, newTask, newTenant, readTask, taskMessage } from "./support.js";

const FLUX_JPEG = Uint8Array.from(atob(flux.image), (c) => c.charCodeAt(0));
const SDXL = "@cf/stabilityai/stable-diffusion-xl-base-1.0";
const unique = (prompt: string) => `${prompt} ${crypto.randomUUID()}`;
const withoutAi = (): HeavyEnv => ({ ...env, AI: undefined });

async function imageTask(params: Record<string, unknown>, extra = {}) {
  const tenant = await newTenant();
  return newTask(tenant, "image_generation", params, extra);
}

describe("image tasks", () => {
  it("stores the model's JPEG in R2 under the task with its content type, and succeeds", async () => {
    const task = await imageTask({ prompt: "a lighthouse at dusk" });
    const r = await deliver("heavy", [{ body: taskMessage(task) }]);
    expect(r.explicitAcks).toEqual(r.ids);
    const row = await readTask(task.id);
    const key = r2Keys.taskImage(task.tenantId, task.id);
    expect(row).toMatchObject({ status: "succeeded", progress: 1, attempts: 1, error: null, resultRef: key });
    expect(row.summary).toBe(`JPEG image (${FLUX_JPEG.byteLength} bytes) from @cf/black-forest-labs/flux-1-schnell for "a lighthouse at dusk"`);
    const object = await env.FILES.get(key);
    expect(object?.httpMetadata?.contentType).toBe("image/jpeg");
    expect(object?.customMetadata).toMatchObject({ tenantId: task.tenantId, taskId: task.id, model: "@cf/black-forest-labs/flux-1-schnell" });
    expect(new Uint8Array(await object!.arrayBuffer())).toEqual(FLUX_JPEG);
  });

  it("books each picture the model draws to the tenant's usage and budget: CIO_IMAGE_TOKENS plus the prompt's", async () => {
    const task = await imageTask({ prompt: "a lighthouse at dawn" }); // 20 characters: 5 tokens
    const tokensToday = async () => (await limiterStub(env.RATE_LIMITER, task.tenantId).snapshot("none")).tokensToday;
    await deliver("heavy", [{ body: taskMessage(task) }], { ...env, CIO_IMAGE_TOKENS: "700" } as HeavyEnv);
    expect(await readTask(task.id)).toMatchObject({ status: "succeeded" });
    expect(await tokensToday()).toBe(705);
    // A redelivery finds the picture stored and draws nothing: nothing more is booked.
    await deliver("heavy", [{ body: taskMessage(task), attempts: 2 }], { ...env, CIO_IMAGE_TOKENS: "700" } as HeavyEnv);
    expect(await tokensToday()).toBe(705);
  });

  it("does not draw for a key revoked since it queued the task, nor for a suspended tenant", async () => {
    const revoked = await imageTask({ prompt: "a lighthouse" });
    await openDb(env.DB).update(schema.tasks).set({ keyId: keyOf(revoked.tenantId) }).where(eq(schema.tasks.id, revoked.id));
    await openDb(env.DB).update(schema.apiKeys).set({ revokedAt: Date.now() }).where(eq(schema.apiKeys.id, keyOf(revoked.tenantId)));
    // A task a chat's tool queued has no key: its tenant is asked.
    const suspended = await imageTask({ prompt: "a lighthouse" });
    await openDb(env.DB).update(schema.tenants).set({ status: "suspended" }).where(eq(schema.tenants.id, suspended.tenantId));
    for (const [task, code] of [[revoked, "api_key_revoked"], [suspended, "tenant_suspended"]] as const) {
      const r = await deliver("heavy", [{ body: taskMessage(task) }]);
      expect(r.explicitAcks).toEqual(r.ids);
      expect(await readTask(task.id)).toMatchObject({ status: "failed", error: { code } });
      expect(await env.FILES.head(r2Keys.taskImage(task.tenantId, task.id))).toBeNull();
      expect((await limiterStub(env.RATE_LIMITER, task.tenantId).snapshot("none")).tokensToday).toBe(0);
    }
  });

  it("checks the daily budget when it runs, counting pictures being drawn: of four tasks run at once under 1000 tokens, one draws", async () => {
    const tenantId = await newTenant();
    await openDb(env.DB).update(schema.tenants).set({ dailyTokenBudget: 1000 }).where(eq(schema.tenants.id, tenantId));
    // Queued together (each passed the gateway's check at creation), delivered in one batch and run at once.
    const tasks = await Promise.all([1, 2, 3, 4].map((i) => newTask(tenantId, "image_generation", { prompt: `a lighthouse no. ${i}` })));
    await deliver("heavy", tasks.map((t) => ({ body: taskMessage(t) })));
    const rows = await Promise.all(tasks.map((t) => readTask(t.id)));
    expect(rows.filter((r) => r.status === "succeeded")).toHaveLength(1);
    const failed = rows.filter((r) => r.status === "failed");
    expect(failed.map((r) => r.error)).toEqual(Array(3).fill({ code: "budget_exceeded", message: "The daily token budget of this organization is exhausted." }));
    for (const r of failed) expect(await env.FILES.head(r2Keys.taskImage(tenantId, r.id))).toBeNull();
    // One picture (1000) and its prompt (17 characters: 5 tokens).
    expect((await limiterStub(env.RATE_LIMITER, tenantId).snapshot("none")).tokensToday).toBe(1005);
  });

  it("a picture the model did not draw gives its tokens back at once: the next task under the budget draws", async () => {
    const tenantId = await newTenant();
    await openDb(env.DB).update(schema.tenants).set({ dailyTokenBudget: 1000 }).where(eq(schema.tenants.id, tenantId));
    for (const [prompt, code] of [["something forbidden", "ai_error"], [unique("over capacity"), "attempt_failed"]]) {
      const refused = await newTask(tenantId, "image_generation", { prompt });
      await deliver("heavy", [{ body: taskMessage(refused) }]);
      expect(await readTask(refused.id)).toMatchObject({ error: { code } });
    }
    const next = await newTask(tenantId, "image_generation", { prompt: "a lighthouse" });
    await deliver("heavy", [{ body: taskMessage(next) }]);
    expect(await readTask(next.id)).toMatchObject({ status: "succeeded" });
    expect((await limiterStub(env.RATE_LIMITER, tenantId).snapshot("none")).tokensToday).toBe(1003);
  });

  it("uses an allowed model the task names, with its size, and stores its PNG stream as image/png", async () => {
    const task = await imageTask({ prompt: "a logo", model: SDXL, size: "512x768", steps: 12 });
    await deliver("heavy", [{ body: taskMessage(task) }]);
    const row = await readTask(task.id);
    expect(row).toMatchObject({ status: "succeeded" });
    expect(row.summary).toContain(`PNG image`);
    const object = await env.FILES.head(row.resultRef!);
    expect(object?.httpMetadata?.contentType).toBe("image/png");
  });

  it("retries a retryable Workers AI error with backoff, then succeeds", async () => {
    const task = await imageTask({ prompt: unique("flaky unicorn") });
    const first = await deliver("heavy", [{ body: taskMessage(task), attempts: 1 }]);
    expect(first.explicitAcks).toEqual([]);
    expect(first.retryMessages.map((m) => m.msgId)).toEqual(first.ids);
    expect(await readTask(task.id)).toMatchObject({ status: "running", attempts: 1, error: { code: "attempt_failed" } });
    expect((await readTask(task.id)).error!.message).toContain("3040");

    const second = await deliver("heavy", [{ body: taskMessage(task), attempts: 2 }]);
    expect(second.explicitAcks).toEqual(second.ids);
    expect(await readTask(task.id)).toMatchObject({ status: "succeeded", attempts: 2, error: null });
    expect(await env.FILES.head(r2Keys.taskImage(task.tenantId, task.id))).not.toBeNull();
  });

  it("fails the task at once, with the model's error, when the prompt is refused", async () => {
    const task = await imageTask({ prompt: "something forbidden" });
    const r = await deliver("heavy", [{ body: taskMessage(task) }]);
    expect(r.explicitAcks).toEqual(r.ids);
    const row = await readTask(task.id);
    expect(row).toMatchObject({ status: "failed", attempts: 1, resultRef: null, error: { code: "ai_error" } });
    expect(row.error!.message).toBe("Workers AI (@cf/black-forest-labs/flux-1-schnell) failed: 5016: Prompt contains content that is not allowed.");
    expect(await env.FILES.head(r2Keys.taskImage(task.tenantId, task.id))).toBeNull();
  });

  it("fails via the dead-letter queue when the model stays over capacity", async () => {
    const task = await imageTask({ prompt: "over capacity" });
    const attempts = Number(env.TEST_MAX_RETRIES) + 1;
    const last = await deliver("heavy", [{ body: taskMessage(task), attempts }]);
    expect(last.retryMessages).toHaveLength(1);
    await deliver("heavy-dlq", [{ body: taskMessage(task) }]);
    const row = await readTask(task.id);
    expect(row).toMatchObject({ status: "failed", error: { code: "retries_exhausted" } });
    expect(row.error!.message).toContain("3040: Capacity temporarily exceeded");
  });

  it("retries a model that does not answer in time", async () => {
    const task = await imageTask({ prompt: "slow painting" });
    const r = await deliver("heavy", [{ body: taskMessage(task) }], { ...env, CIO_IMAGE_TIMEOUT_MS: "100" });
    expect(r.retryMessages).toHaveLength(1);
    expect((await readTask(task.id)).error).toEqual({ code: "attempt_failed", message: "Workers AI (@cf/black-forest-labs/flux-1-schnell) did not answer within 100 ms" });
  });

  it("a task cancelled while the model draws stays cancelled, and its picture is not stored", async () => {
    const task = await imageTask({ prompt: "a harbour at night" });
    // The client cancels (POST /v1/tasks/:id/cancel's write) while the model runs.
    const ai: AiRunner = {
      async run(model, inputs) {
        await openDb(env.DB).update(schema.tasks).set({ status: "cancelled", finishedAt: Date.now() }).where(eq(schema.tasks.id, task.id));
        return (env.AI as AiRunner).run(model, inputs);
      },
    };
    const [outcome] = await deliverRecorded("heavy", [{ body: taskMessage(task) }], { ...env, AI: ai as HeavyEnv["AI"] });
    expect(outcome).toEqual({ acked: true, retryDelaySeconds: null });
    expect(await readTask(task.id)).toMatchObject({ status: "cancelled", resultRef: null });
    expect(await env.FILES.head(r2Keys.taskImage(task.tenantId, task.id))).toBeNull();
  });

  it("does not generate again on redelivery: a finished task is left alone", async () => {
    const task = await imageTask({ prompt: "a harbour" });
    await deliver("heavy", [{ body: taskMessage(task) }]);
    const before = await env.FILES.head(r2Keys.taskImage(task.tenantId, task.id));
    const again = await deliver("heavy", [{ body: taskMessage(task), attempts: 2 }]);
    expect(again.explicitAcks).toEqual(again.ids);
    expect(await readTask(task.id)).toMatchObject({ status: "succeeded", attempts: 1 });
    expect((await env.FILES.head(r2Keys.taskImage(task.tenantId, task.id)))?.etag).toBe(before?.etag);
  });

  it("does not generate again when an earlier attempt stored the image before it could record it", async () => {
    // The prompt would now be refused: success shows the model was not asked again.
    const task = await imageTask({ prompt: "forbidden now" }, { status: "running", attempts: 1 });
    const key = r2Keys.taskImage(task.tenantId, task.id);
    await env.FILES.put(key, FLUX_JPEG, { httpMetadata: { contentType: "image/jpeg" }, customMetadata: { model: "@cf/black-forest-labs/flux-1-schnell" } });
    const before = await env.FILES.head(key);
    await deliver("heavy", [{ body: taskMessage(task), attempts: 2 }]);
    expect(await readTask(task.id)).toMatchObject({ status: "succeeded", attempts: 2, resultRef: key, error: null });
    expect((await env.FILES.head(key))?.etag).toBe(before?.etag);
  });

  it("fails the task with a clear reason when Workers AI is not bound, and says so when asked up front", async () => {
    const task = await imageTask({ prompt: "a cat" });
    const r = await deliver("heavy", [{ body: taskMessage(task) }], withoutAi());
    expect(r.explicitAcks).toEqual(r.ids);
    const row = await readTask(task.id);
    expect(row).toMatchObject({ status: "failed", attempts: 1, error: { code: "ai_not_configured" } });
    expect(row.error!.message).toContain("Image generation needs Workers AI");
    expect(new HeavyInfo(createExecutionContext(), withoutAi()).imageRefusal()).toMatchObject({ code: "ai_not_configured" });
  });

  it("refuses a model it does not offer, up front and in the job", async () => {
    const info = new HeavyInfo(createExecutionContext(), env);
    expect(info.imageRefusal()).toBeNull();
    expect(info.imageRefusal(SDXL)).toBeNull();
    expect(info.imageRefusal("@cf/someone/expensive-model")).toMatchObject({ code: "model_not_allowed" });
    const task = await imageTask({ prompt: "a cat", model: "@cf/someone/expensive-model" });
    await deliver("heavy", [{ body: taskMessage(task) }]);
    expect(await readTask(task.id)).toMatchObject({ status: "failed", error: { code: "model_not_allowed" } });
  });
});
