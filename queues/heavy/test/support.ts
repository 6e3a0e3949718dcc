/**
 * Test plumbing for the heavy consumer: tenants, files and tasks are written the way the gateway writes
 * them, and messages are delivered by calling the Worker's queue() handler with a message batch, as the
 * Queues runtime would.
 */
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env as rawEnv } from "cloudflare:workers";
import { and, eq } from "drizzle-orm";
import { inject } from "vitest";
import { openDb, schema } from "../../../lib/db/index.js";
import { newFileId, newTaskId, r2Keys } from "../../../lib/heavy/ids.js";
import type { TaskRow } from "../../../lib/heavy/tasks.js";
import type { HeavyMessage, TaskType } from "../../../lib/protocol/heavy.js";
import type { HeavyEnv } from "../src/env.js";
import worker from "../src/index.js";

export const env = rawEnv as unknown as HeavyEnv & { TEST_MAX_RETRIES: string };

/** A new tenant with one API key, keyOf(tenant): queued work runs only while the key that created it holds. */
export async function newTenant(): Promise<string> {
  const id = `ten_${crypto.randomUUID().slice(0, 12)}`;
  await openDb(env.DB).insert(schema.tenants).values({ id, name: id });
  await openDb(env.DB).insert(schema.apiKeys).values({ id: keyOf(id), tenantId: id, name: "test", prefix: "sk-cio-test", hash: crypto.randomUUID(), scopes: ["chat"] });
  return id;
}

export const keyOf = (tenantId: string) => `key-${tenantId}`;

export async function putFile(tenantId: string, filename: string, content: string | Uint8Array, purpose: "analysis" | "batch" = "analysis") {
  const id = newFileId();
  const key = r2Keys.file(tenantId, id);
  const bytes = typeof content === "string" ? new TextEncoder().encode(content) : content;
  await env.FILES.put(key, bytes);
  await openDb(env.DB).insert(schema.files).values({ id, tenantId, filename, purpose, bytes: bytes.byteLength, r2Key: key, contentType: null });
  return id;
}

export async function newTask(tenantId: string, type: TaskType, params: Record<string, unknown>, extra: Partial<TaskRow> = {}): Promise<TaskRow> {
  const [row] = await openDb(env.DB).insert(schema.tasks).values({ id: newTaskId(), tenantId, type, params, requestId: "req-test", ...extra }).returning();
  return row!;
}

export const OPEN_LIMITS = { keyRpm: 1000, keyConcurrency: 100, tenantRpm: 1000, tenantConcurrency: 100, dailyTokenBudget: null };

/** A batch in progress over the input `lines` (its file and running task as planning leaves them); its `partsTotal` parts are the caller's to write. */
export async function batchInProgress(lines: string[], partsTotal: number) {
  const tenantId = await newTenant();
  const fileId = await putFile(tenantId, "in.jsonl", lines.map((l) => `${l}\n`).join(""), "batch");
  const batchId = `batch_${crypto.randomUUID().replace(/-/g, "").slice(0, 16)}`;
  const task = await newTask(tenantId, "batch", { batchId }, { status: "running" });
  await openDb(env.DB).insert(schema.batches).values({
    id: batchId, tenantId, taskId: task.id, keyId: keyOf(tenantId), limits: OPEN_LIMITS, inputFileId: fileId, endpoint: "/v1/chat/completions",
    completionWindow: "24h", status: "in_progress", total: lines.length, partsTotal, expiresAt: Date.now() + 3600_000,
  });
  return { tenantId, batchId, task };
}

/** A batch just created from `input` (as POST /v1/batches leaves it): still validating, its task queued (or as `taskStatus` says). */
export async function validatingBatch(input: string, taskStatus?: "running") {
  const tenantId = await newTenant();
  const batchId = `batch_${crypto.randomUUID().replace(/-/g, "").slice(0, 16)}`;
  const task = await newTask(tenantId, "batch", { batchId }, taskStatus ? { status: taskStatus } : {});
  const fileId = await putFile(tenantId, "in.jsonl", input, "batch");
  await openDb(env.DB).insert(schema.batches).values({
    id: batchId, tenantId, taskId: task.id, keyId: keyOf(tenantId), limits: OPEN_LIMITS, inputFileId: fileId, endpoint: "/v1/chat/completions",
    completionWindow: "24h", status: "validating", expiresAt: Date.now() + 3600_000,
  });
  return { tenantId, batchId, task, fileId };
}

export async function batchRow(tenantId: string, batchId: string) {
  const [row] = await openDb(env.DB).select().from(schema.batches).where(and(eq(schema.batches.tenantId, tenantId), eq(schema.batches.id, batchId)));
  return row!;
}

/** A line of a batch's output or error file. */
export interface BatchFileLine {
  custom_id: string;
  response: { status_code: number; body: { error?: { message: string; code: string | null } } } | null;
  error: { code: string; message: string } | null;
}

/** The lines of a batch's output or error file (none when it has no such file). */
export async function fileLines(tenantId: string, fileId: string | null): Promise<BatchFileLine[]> {
  if (!fileId) return [];
  const [file] = await openDb(env.DB).select().from(schema.files).where(and(eq(schema.files.tenantId, tenantId), eq(schema.files.id, fileId)));
  const text = await (await env.FILES.get(file!.r2Key))!.text();
  return text.trim().split("\n").map((l) => JSON.parse(l) as BatchFileLine);
}

/** The requests the mock model got under directive id `id`. */
export const sentTo = async (id: string) =>
  (await (await fetch(`${inject("upstreamUrl").replace(/\/v1$/, "")}/__requests?id=${id}`)).json()) as { completed: boolean; aborted: boolean }[];

export const taskMessage = (t: Pick<TaskRow, "id" | "tenantId">): HeavyMessage => ({ kind: "task", taskId: t.id, tenantId: t.tenantId, requestId: "req-test" });

export interface Delivery {
  body: unknown;
  attempts?: number;
}

/**
 * Delivers messages as one batch on `queue`; returns what the consumer did with each (by message id).
 * `withEnv` runs the consumer with other bindings or settings (e.g. without Workers AI).
 */
export async function deliver(queue: string, messages: Delivery[], withEnv: HeavyEnv = env) {
  const ids = messages.map((_, i) => `m${i}-${crypto.randomUUID()}`);
  const batch = createMessageBatch(queue, messages.map((m, i) => ({ id: ids[i]!, timestamp: new Date(), attempts: m.attempts ?? 1, body: m.body })));
  const ctx = createExecutionContext();
  await worker.queue(batch as MessageBatch<unknown>, withEnv);
  return { ids, ...(await getQueueResult(batch, ctx)) };
}

export interface Outcome {
  acked: boolean;
  retryDelaySeconds: number | null;
}

/**
 * The same delivery with messages that also record the options of retry() (the test helpers' batches
 * do not report the delay), for checking the backoff the consumer asks for.
 */
export async function deliverRecorded(queue: string, messages: Delivery[], withEnv: HeavyEnv = env): Promise<Outcome[]> {
  const outcomes: Outcome[] = messages.map(() => ({ acked: false, retryDelaySeconds: null }));
  const batch: MessageBatch<unknown> = {
    queue,
    metadata: { metrics: { backlogCount: 0, backlogBytes: 0 } },
    messages: messages.map((m, i) => ({
      id: `m${i}-${crypto.randomUUID()}`,
      timestamp: new Date(),
      attempts: m.attempts ?? 1,
      body: m.body,
      ack: () => void (outcomes[i]!.acked = true),
      retry: (o?: QueueRetryOptions) => void (outcomes[i]!.retryDelaySeconds = o?.delaySeconds ?? 0),
    })),
    ackAll: () => outcomes.forEach((o) => (o.acked = true)),
    retryAll: (o?: QueueRetryOptions) => outcomes.forEach((x) => (x.retryDelaySeconds = o?.delaySeconds ?? 0)),
  };
  await worker.queue(batch, withEnv);
  return outcomes;
}

export async function readTask(id: string) {
  const rows = await openDb(env.DB).select().from(schema.tasks).where((await import("drizzle-orm")).eq(schema.tasks.id, id));
  return rows[0]!;
}

/** What a drain did: the messages the consumer sent (with their delays), the retries it asked for, the dead letters. */
export interface Drained {
  sent: { body: HeavyMessage; delaySeconds?: number }[];
  retries: number;
  deadLetters: number;
}

/**
 * Delivers `first`, and every message the consumer sends, as the Queues runtime would (delays are not waited)
 * until none is left: a message retried past the queue's max_retries goes to the dead-letter queue. Bounded:
 * throws when messages are still about after `rounds` rounds of deliveries.
 */
export async function drain(first: HeavyMessage[], withEnv: HeavyEnv = env, rounds = 40): Promise<Drained> {
  const maxAttempts = Number(env.TEST_MAX_RETRIES) + 1;
  type Pending = { queue: string; body: HeavyMessage; attempts: number };
  const out: Drained = { sent: [], retries: 0, deadLetters: 0 };
  let pending: Pending[] = first.map((body) => ({ queue: "heavy", body, attempts: 1 }));
  for (let round = 0; round < rounds && pending.length; round++) {
    const next: Pending[] = [];
    const send = (body: HeavyMessage, delaySeconds?: number) => {
      out.sent.push({ body, delaySeconds });
      next.push({ queue: "heavy", body, attempts: 1 });
    };
    const q = {
      send: async (body: HeavyMessage, o?: QueueSendOptions) => send(body, o?.delaySeconds),
      sendBatch: async (msgs: { body: HeavyMessage }[]) => msgs.forEach((m) => send(m.body)),
    } as unknown as HeavyEnv["HEAVY_QUEUE"];
    for (const queue of ["heavy", "heavy-dlq"]) {
      const these = pending.filter((m) => m.queue === queue);
      if (!these.length) continue;
      const outcomes = await deliverRecorded(queue, these, { ...withEnv, HEAVY_QUEUE: q });
      outcomes.forEach((o, i) => {
        const m = these[i]!;
        if (o.acked) return;
        const dead = queue === "heavy" && m.attempts >= maxAttempts;
        if (dead) out.deadLetters++;
        else out.retries++;
        next.push({ queue: dead ? "heavy-dlq" : queue, body: m.body, attempts: dead ? 1 : m.attempts + 1 });
      });
    }
    pending = next;
  }
  if (pending.length) throw new Error(`${pending.length} messages still pending after ${rounds} rounds`);
  return out;
}
