/**
 * Test plumbing for the heavy consumer: tenants, files and tasks are written the way the gateway writes
 * them, and messages are delivered by calling the Worker's queue() handler with a message batch, as the
 * Queues runtime would.
 */
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env as rawEnv } from "cloudflare:workers";
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
