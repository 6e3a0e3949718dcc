/**
 * One delivery of a task's message runs the task at a time (Queues delivers at least once): a duplicate that
 * arrives while the first still runs neither calls the model nor ends the task, but is retried once the
 * claim would end; the dead-letter path does not fail a task a live delivery is running; and a claim left by
 * a delivery that died is taken over once expired. Claims are written by hand where a test needs one that an
 * earlier (dead) delivery left.
 */
import { eq } from "drizzle-orm";
import { describe, expect, inject, it } from "vitest";
import { openDb, schema } from "../../../lib/db/index.js";
import { newTaskId, r2Keys } from "../../../lib/heavy/ids.js";
import type { TaskRow } from "../../../lib/heavy/tasks.js";
import { withDirective } from "../../../test/mock-upstream/directive.js";
import type { HeavyEnv } from "../src/env.js";
import { deliverRecorded, env, keyOf, newTask, newTenant, OPEN_LIMITS, readTask, taskMessage } from "./support.js";

const TTL_MS = 60_000;
const withTtl = { ...env, CIO_BATCH_CLAIM_TTL_MS: String(TTL_MS) } as HeavyEnv;

/** The requests the mock model received for directive id `id`. */
const sent = async (id: string) =>
  (await (await fetch(`${inject("upstreamUrl").replace(/\/v1$/, "")}/__requests?id=${id}`)).json()) as { completed: boolean }[];

/** A chat_completion task whose model answers after `delayMs`; its model calls are logged under `mockId`. */
async function chatTask(delayMs: number, extra: Partial<TaskRow> = {}) {
  const tenantId = await newTenant();
  const mockId = `claim-${crypto.randomUUID().slice(0, 8)}`;
  const id = newTaskId();
  const inputRef = r2Keys.taskInput(tenantId, id);
  await env.FILES.put(inputRef, JSON.stringify({ model: "mock-model", messages: [{ role: "user", content: withDirective("write", { id: mockId, delayMs }) }] }));
  const task = await newTask(tenantId, "chat_completion", { keyId: keyOf(tenantId), limits: OPEN_LIMITS, model: "mock-model" }, { id, inputRef, ...extra });
  return { task, mockId };
}

const setTask = (id: string, set: Partial<TaskRow>) => openDb(env.DB).update(schema.tasks).set(set).where(eq(schema.tasks.id, id));

async function until(check: () => Promise<boolean>, ms = 5_000) {
  for (const end = Date.now() + ms; Date.now() < end; ) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error("condition not met in time");
}

describe("a task's claim", () => {
  it("two deliveries of one chat_completion task at once call the model once, and the task ends succeeded once", async () => {
    const { task, mockId } = await chatTask(500);
    // Queues delivers at least once: the same message twice, in one consumer batch.
    const outcomes = await deliverRecorded("heavy", [{ body: taskMessage(task), attempts: 1 }, { body: taskMessage(task), attempts: 1 }], withTtl);
    expect((await sent(mockId)).length).toBe(1);
    const done = await readTask(task.id);
    expect(done).toMatchObject({ status: "succeeded", attempts: 1, error: null });
    // One ran it; the other is retried when the first's claim would have ended, not acknowledged as done.
    const [ran, waits] = outcomes[0]!.acked ? [outcomes[0]!, outcomes[1]!] : [outcomes[1]!, outcomes[0]!];
    expect(ran).toEqual({ acked: true, retryDelaySeconds: null });
    expect(waits.acked).toBe(false);
    expect(waits.retryDelaySeconds).toBeGreaterThan(TTL_MS / 1000 - 10);
    expect(waits.retryDelaySeconds).toBeLessThanOrEqual(TTL_MS / 1000);

    // The retried duplicate finds the task finished: acknowledged, the model not asked, the task unchanged.
    const [again] = await deliverRecorded("heavy", [{ body: taskMessage(task), attempts: 2 }], withTtl);
    expect(again).toEqual({ acked: true, retryDelaySeconds: null });
    expect((await sent(mockId)).length).toBe(1);
    expect(await readTask(task.id)).toEqual(done);
  });

  it("a dead-letter message for a task under a live claim does not fail it; it is failed only once the claim has ended", async () => {
    const { task, mockId } = await chatTask(1_000);
    // A delivery runs the task (the model answers in a second) when a duplicate's dead letter arrives.
    const running = deliverRecorded("heavy", [{ body: taskMessage(task), attempts: 1 }], withTtl);
    await until(async () => (await readTask(task.id)).status === "running");
    const [held] = await deliverRecorded("heavy-dlq", [{ body: taskMessage(task), attempts: 1 }], withTtl);
    expect(held!.acked).toBe(false);
    expect(held!.retryDelaySeconds).toBeGreaterThan(TTL_MS / 1000 - 10);
    expect((await readTask(task.id)).status).toBe("running");

    // The running delivery's answer is kept, and the dead letter's retry then finds the task finished.
    expect(await running).toEqual([{ acked: true, retryDelaySeconds: null }]);
    expect((await readTask(task.id)).status).toBe("succeeded");
    const [later] = await deliverRecorded("heavy-dlq", [{ body: taskMessage(task), attempts: 2 }], withTtl);
    expect(later).toEqual({ acked: true, retryDelaySeconds: null });
    expect(await readTask(task.id)).toMatchObject({ status: "succeeded", error: null });
    expect((await sent(mockId)).length).toBe(1);

    // A dead letter whose task's claim has expired (its delivery died) fails it, as before.
    const dead = await chatTask(0, { status: "running", attempts: 5, claim: "dead", claimedAt: Date.now() - TTL_MS - 1 });
    const [failed] = await deliverRecorded("heavy-dlq", [{ body: taskMessage(dead.task), attempts: 1 }], withTtl);
    expect(failed).toEqual({ acked: true, retryDelaySeconds: null });
    expect((await readTask(dead.task.id)).error).toMatchObject({ code: "retries_exhausted" });
  });

  it("a claim from a crashed delivery expires, and the task then runs", async () => {
    const { task, mockId } = await chatTask(0, { status: "running", attempts: 1, claim: "dead", claimedAt: Date.now() - 10_000 });
    const [early] = await deliverRecorded("heavy", [{ body: taskMessage(task), attempts: 1 }], withTtl);
    // Retried when the claim would end (about 50 s on), not dropped, and the model was not asked meanwhile.
    expect(early!.acked).toBe(false);
    expect(early!.retryDelaySeconds).toBeGreaterThan(40);
    expect(early!.retryDelaySeconds).toBeLessThanOrEqual(TTL_MS / 1000);
    expect(await readTask(task.id)).toMatchObject({ status: "running", claim: "dead", attempts: 1, error: null });
    expect(await sent(mockId)).toEqual([]);

    await setTask(task.id, { claimedAt: Date.now() - TTL_MS - 1 });
    const [late] = await deliverRecorded("heavy", [{ body: taskMessage(task), attempts: 2 }], withTtl);
    expect(late).toEqual({ acked: true, retryDelaySeconds: null });
    expect(await readTask(task.id)).toMatchObject({ status: "succeeded", attempts: 2 });
    expect((await sent(mockId)).length).toBe(1);
  });

  it("an attempt that fails gives its claim back, so the queue's retry runs the task at once", async () => {
    const tenantId = await newTenant();
    const mockId = `claim-${crypto.randomUUID().slice(0, 8)}`;
    const id = newTaskId();
    const inputRef = r2Keys.taskInput(tenantId, id);
    await env.FILES.put(inputRef, JSON.stringify({ model: "mock-model", messages: [{ role: "user", content: withDirective("write", { id: mockId, failTimes: 1, status: 503 }) }] }));
    const task = await newTask(tenantId, "chat_completion", { keyId: keyOf(tenantId), limits: OPEN_LIMITS, model: "mock-model" }, { id, inputRef });
    const [first] = await deliverRecorded("heavy", [{ body: taskMessage(task), attempts: 1 }], withTtl);
    expect(first!.acked).toBe(false);
    expect(await readTask(task.id)).toMatchObject({ status: "running", claim: null, claimedAt: null });
    const [second] = await deliverRecorded("heavy", [{ body: taskMessage(task), attempts: 2 }], withTtl);
    expect(second).toEqual({ acked: true, retryDelaySeconds: null });
    expect(await readTask(task.id)).toMatchObject({ status: "succeeded", attempts: 2 });
    expect((await sent(mockId)).length).toBe(2);
  });
});
