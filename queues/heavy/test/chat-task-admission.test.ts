/**
 * chat_completion tasks are admitted by the tenant's rate limiter when they run, under the limits of the
 * key that created them (stored on the task by the gateway), not only when they are created: a tenant
 * cannot queue long generations within its rpm and have them all run past its daily budget or its
 * concurrency. And a retried task whose completion is already stored does not call the model again.
 */
import { describe, expect, inject, it } from "vitest";
import { eq } from "drizzle-orm";
import { openDb, schema } from "../../../lib/db/index.js";
import { limiterStub } from "../../../lib/do-names.js";
import { newTaskId, r2Keys } from "../../../lib/heavy/ids.js";
import type { HeavyMessage } from "../../../lib/protocol/heavy.js";
import { withDirective } from "../../../test/mock-upstream/directive.js";
import type { HeavyEnv } from "../src/env.js";
import { deliverRecorded, env, keyOf, newTenant, newTask, readTask, taskMessage } from "./support.js";

const OPEN_LIMITS = { keyRpm: 1000, keyConcurrency: 100, tenantRpm: 1000, tenantConcurrency: 100, dailyTokenBudget: null };

/** A chat_completion task as the gateway queues it; the mock model logs its requests under `mockId`. */
async function chatTask(tenantId: string, limits: Record<string, number | null> = OPEN_LIMITS) {
  const mockId = `chat-task-${crypto.randomUUID().slice(0, 8)}`;
  const id = newTaskId();
  const inputRef = r2Keys.taskInput(tenantId, id);
  const request = { model: "mock-model", messages: [{ role: "user", content: withDirective("write", { id: mockId, text: "A long essay." }) }] };
  await env.FILES.put(inputRef, JSON.stringify(request));
  const task = await newTask(tenantId, "chat_completion", { keyId: keyOf(tenantId), limits, model: "mock-model" }, { id, inputRef });
  return { task, mockId, msg: taskMessage(task) };
}

const sent = async (mockId: string) =>
  (await (await fetch(`${inject("upstreamUrl").replace(/\/v1$/, "")}/__requests?id=${mockId}`)).json()) as { completed: boolean }[];

const limiter = (tenantId: string) => limiterStub(env.RATE_LIMITER, tenantId);

/** A queue that records what is sent to it instead of delivering it. */
function recordingQueue() {
  const queued: { body: HeavyMessage; delaySeconds?: number }[] = [];
  const queue = { send: async (body: HeavyMessage, o?: QueueSendOptions) => void queued.push({ body, delaySeconds: o?.delaySeconds }) };
  return { queued, withEnv: (extra: Record<string, unknown> = {}) => ({ ...env, ...extra, HEAVY_QUEUE: queue as unknown as HeavyEnv["HEAVY_QUEUE"] }) };
}

async function eventually(check: () => Promise<boolean>, ms = 5000) {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("chat_completion tasks and the tenant's rate limiter", () => {
  it("fails a task with budget_exceeded when the daily token budget is exhausted at run time, without calling the model", async () => {
    const tenantId = await newTenant();
    await openDb(env.DB).update(schema.tenants).set({ dailyTokenBudget: 100 }).where(eq(schema.tenants.id, tenantId));
    const { task, mockId, msg } = await chatTask(tenantId, { ...OPEN_LIMITS, dailyTokenBudget: 100 });
    // The budget was spent after the task was queued (the gateway admitted its creation).
    await limiter(tenantId).settle(null, { tenantId, model: "mock-model", usage: { prompt_tokens: 60, completion_tokens: 40, total_tokens: 100 } });

    const [outcome] = await deliverRecorded("heavy", [{ body: msg, attempts: 1 }]);
    expect(outcome).toEqual({ acked: true, retryDelaySeconds: null });
    expect(await readTask(task.id)).toMatchObject({ status: "failed", error: { code: "budget_exceeded" }, resultRef: null });
    expect(await sent(mockId)).toEqual([]);
  });

  it("a task cancelled while the model answers stays cancelled, and its answer is not stored", async () => {
    const tenantId = await newTenant();
    const { task, mockId, msg } = await chatTask(tenantId);
    // The client cancels (POST /v1/tasks/:id/cancel's write) while the call is with the model.
    const chat = async (call: never) => {
      await openDb(env.DB).update(schema.tasks).set({ status: "cancelled", finishedAt: Date.now() }).where(eq(schema.tasks.id, task.id));
      return env.ORCHESTRATOR.chat(call);
    };
    const [outcome] = await deliverRecorded("heavy", [{ body: msg, attempts: 1 }], { ...env, ORCHESTRATOR: { chat } as unknown as HeavyEnv["ORCHESTRATOR"] });
    expect(outcome).toEqual({ acked: true, retryDelaySeconds: null });
    expect(await sent(mockId)).toHaveLength(1);
    expect(await readTask(task.id)).toMatchObject({ status: "cancelled", resultRef: null });
    expect(await env.FILES.head(r2Keys.taskResult(tenantId, task.id))).toBeNull();
  });

  it("a task deleted (after its cancel) while the model answers leaves no answer in R2", async () => {
    const tenantId = await newTenant();
    const { task, msg } = await chatTask(tenantId);
    const chat = async (call: never) => {
      await openDb(env.DB).delete(schema.tasks).where(eq(schema.tasks.id, task.id));
      return env.ORCHESTRATOR.chat(call);
    };
    const [outcome] = await deliverRecorded("heavy", [{ body: msg, attempts: 1 }], { ...env, ORCHESTRATOR: { chat } as unknown as HeavyEnv["ORCHESTRATOR"] });
    expect(outcome).toEqual({ acked: true, retryDelaySeconds: null });
    expect(await env.FILES.head(r2Keys.taskResult(tenantId, task.id))).toBeNull();
  });

  it("fails a task whose key was revoked after it was queued, without calling the model", async () => {
    const tenantId = await newTenant();
    const { task, mockId, msg } = await chatTask(tenantId);
    await openDb(env.DB).update(schema.apiKeys).set({ revokedAt: Date.now() }).where(eq(schema.apiKeys.id, keyOf(tenantId)));
    const [outcome] = await deliverRecorded("heavy", [{ body: msg, attempts: 1 }]);
    expect(outcome).toEqual({ acked: true, retryDelaySeconds: null });
    expect(await readTask(task.id)).toMatchObject({ status: "failed", error: { code: "api_key_revoked" } });
    expect(await sent(mockId)).toEqual([]);
  });

  it("runs under the limits D1 has when it runs: a budget set after the task was queued applies", async () => {
    const tenantId = await newTenant();
    const { task, mockId, msg } = await chatTask(tenantId); // queued with no budget
    await openDb(env.DB).update(schema.tenants).set({ dailyTokenBudget: 100 }).where(eq(schema.tenants.id, tenantId));
    await limiter(tenantId).settle(null, { tenantId, model: "mock-model", usage: { prompt_tokens: 60, completion_tokens: 40, total_tokens: 100 } });
    await deliverRecorded("heavy", [{ body: msg, attempts: 1 }]);
    expect(await readTask(task.id)).toMatchObject({ status: "failed", error: { code: "budget_exceeded" } });
    expect(await sent(mockId)).toEqual([]);
  });

  it("sends a task over the key's rpm back to the queue delayed, not as a failed attempt, and runs it once the limit frees up", async () => {
    const tenantId = await newTenant();
    const limits = { ...OPEN_LIMITS, keyRpm: 1 };
    const { task, mockId, msg } = await chatTask(tenantId, limits);
    // The key's one request of this minute went elsewhere.
    const other = await limiter(tenantId).reserve({ keyId: keyOf(tenantId), ...limits, leaseTtlMs: 60_000 });
    expect(other.ok).toBe(true);
    if (other.ok) await limiter(tenantId).release(other.leaseId);

    const q = recordingQueue();
    const [first] = await deliverRecorded("heavy", [{ body: msg, attempts: 1 }], q.withEnv());
    expect(first).toEqual({ acked: true, retryDelaySeconds: null });
    expect(q.queued).toEqual([{ body: msg, delaySeconds: expect.any(Number) }]);
    expect(q.queued[0]!.delaySeconds).toBeGreaterThan(1);
    expect(q.queued[0]!.delaySeconds).toBeLessThanOrEqual(60);
    expect(await sent(mockId)).toEqual([]);
    expect(await readTask(task.id)).toMatchObject({ status: "queued", attempts: 0, error: null });

    // The minute passes (played by raising the key's limit); the message comes back as a first delivery.
    await openDb(env.DB).update(schema.tasks).set({ params: { ...task.params, limits: OPEN_LIMITS } }).where(eq(schema.tasks.id, task.id));
    const [second] = await deliverRecorded("heavy", [{ body: q.queued[0]!.body, attempts: 1 }]);
    expect(second).toEqual({ acked: true, retryDelaySeconds: null });
    expect(await readTask(task.id)).toMatchObject({ status: "succeeded", attempts: 1, summary: "A long essay." });
    expect(await sent(mockId)).toHaveLength(1);
    // The orchestrator settled the lease the job reserved: the key has nothing in flight.
    await eventually(async () => (await limiter(tenantId).snapshot(keyOf(tenantId))).keyInFlight === 0);
  });

  it("holds its concurrency slot with a lease of CIO_LEASE_TTL_MS, like the gateway's requests", async () => {
    const tenantId = await newTenant();
    const mockId = `lease-${crypto.randomUUID().slice(0, 8)}`;
    const id = newTaskId();
    const inputRef = r2Keys.taskInput(tenantId, id);
    await env.FILES.put(inputRef, JSON.stringify({ model: "mock-model", messages: [{ role: "user", content: withDirective("slow", { id: mockId, text: "done", delayMs: 1500 }) }] }));
    const task = await newTask(tenantId, "chat_completion", { keyId: keyOf(tenantId), limits: OPEN_LIMITS, model: "mock-model" }, { id, inputRef });
    const running = deliverRecorded("heavy", [{ body: taskMessage(task), attempts: 1 }], { ...env, CIO_LEASE_TTL_MS: "1000" } as HeavyEnv);
    await eventually(async () => (await limiter(tenantId).snapshot(keyOf(tenantId))).keyInFlight === 1);
    // Two seconds on, a 1 s lease has expired (a lease of the old fixed 15 minutes would still hold the slot).
    expect((await limiter(tenantId).snapshot(keyOf(tenantId), Date.now() + 2000)).keyInFlight).toBe(0);
    await running;
    expect(await readTask(task.id)).toMatchObject({ status: "succeeded" });
  });

  it("sends a task held by the key's concurrency past the wait back to the queue; within the wait it runs", async () => {
    const tenantId = await newTenant();
    const limits = { ...OPEN_LIMITS, keyConcurrency: 1 };
    const { task, mockId, msg } = await chatTask(tenantId, limits);
    const held = await limiter(tenantId).reserve({ keyId: keyOf(tenantId), ...limits, leaseTtlMs: 60_000 });
    expect(held.ok).toBe(true);

    const q = recordingQueue();
    const [first] = await deliverRecorded("heavy", [{ body: msg, attempts: 1 }], q.withEnv({ CIO_BATCH_RATE_WAIT_MS: "0" }));
    expect(first).toEqual({ acked: true, retryDelaySeconds: null });
    expect(q.queued).toEqual([{ body: msg, delaySeconds: 1 }]);
    expect(await sent(mockId)).toEqual([]);
    expect(await readTask(task.id)).toMatchObject({ status: "queued", attempts: 0 });

    // The slot frees up while the task waits (the default wait is 10 s): it is admitted and runs.
    if (held.ok) setTimeout(() => void limiter(tenantId).release(held.leaseId), 300);
    const [second] = await deliverRecorded("heavy", [{ body: msg, attempts: 1 }]);
    expect(second).toEqual({ acked: true, retryDelaySeconds: null });
    expect(await readTask(task.id)).toMatchObject({ status: "succeeded", attempts: 1 });
    expect(await sent(mockId)).toHaveLength(1);
  });

  it("releases the reserved slot when the orchestrator call throws, and the queue retries the task", async () => {
    const tenantId = await newTenant();
    const { task, msg } = await chatTask(tenantId, { ...OPEN_LIMITS, keyConcurrency: 1 });
    const chat = async () => {
      throw new Error("orchestrator RPC failed");
    };
    const [outcome] = await deliverRecorded("heavy", [{ body: msg, attempts: 1 }], { ...env, ORCHESTRATOR: { chat } as unknown as HeavyEnv["ORCHESTRATOR"] });
    expect(outcome).toEqual({ acked: false, retryDelaySeconds: expect.any(Number) });
    expect(await readTask(task.id)).toMatchObject({ status: "running", attempts: 1, error: { code: "attempt_failed" } });
    expect((await limiter(tenantId).snapshot(keyOf(tenantId))).keyInFlight).toBe(0);
  });

  it("a retried task whose completion is already stored finishes without calling the model again", async () => {
    const tenantId = await newTenant();
    const { task, mockId, msg } = await chatTask(tenantId);
    const [first] = await deliverRecorded("heavy", [{ body: msg, attempts: 1 }]);
    expect(first).toEqual({ acked: true, retryDelaySeconds: null });
    const done = await readTask(task.id);
    expect(done).toMatchObject({ status: "succeeded", summary: "A long essay." });
    expect(await sent(mockId)).toHaveLength(1);

    // As if the attempt had stored the completion and then failed to record the success in D1 (giving its claim
    // back): retried.
    await openDb(env.DB)
      .update(schema.tasks)
      .set({ status: "running", resultRef: null, summary: null, finishedAt: null, claim: null, claimedAt: null })
      .where(eq(schema.tasks.id, task.id));
    const [retry] = await deliverRecorded("heavy", [{ body: msg, attempts: 2 }]);
    expect(retry).toEqual({ acked: true, retryDelaySeconds: null });
    expect(await readTask(task.id)).toMatchObject({ status: "succeeded", summary: "A long essay.", resultRef: done.resultRef });
    expect(await sent(mockId)).toHaveLength(1);
  });
});
