/**
 * 1,000 long-text jobs with faults injected at the edge (the mock model): most succeed, some fail a few
 * times then succeed, some fail on every attempt, some are rejected as bad requests. The queue's delivery
 * is played by a small broker that follows the consumer's ack/retry decisions, the queue's max_retries
 * (read from queues/heavy/wrangler.toml) and its dead-letter queue. Every job must end succeeded or failed.
 */
import { describe, expect, it } from "vitest";
import { inArray } from "drizzle-orm";
import { openDb, schema } from "../../../lib/db/index.js";
import { newTaskId, r2Keys } from "../../../lib/heavy/ids.js";
import { withDirective } from "../../../test/mock-upstream/directive.js";
import { backoffSeconds, heavySettings } from "../src/settings.js";
import { deliver, deliverRecorded, env, newTenant, taskMessage, type Delivery } from "./support.js";

const JOBS = 1000;
const BATCH = 4;
const PARALLEL_BATCHES = 8;

type Kind = "ok" | "transient" | "permanent" | "rejected";
const kindOf = (i: number): Kind => (i % 10 < 6 ? "ok" : i % 10 < 8 ? "transient" : i % 10 === 8 ? "permanent" : "rejected");

async function createJobs(tenantId: string, run: string) {
  const rows = [];
  for (let i = 0; i < JOBS; i++) {
    const id = newTaskId();
    const kind = kindOf(i);
    const directive = kind === "ok" ? {} : kind === "transient" ? { id: `${run}-${i}`, failTimes: 1 + (i % 2), status: 503 } : kind === "permanent" ? { status: 503 } : { status: 400 };
    const request = { model: "mock-model", messages: [{ role: "user", content: withDirective(`job ${i}`, directive) }] };
    const inputRef = r2Keys.taskInput(tenantId, id);
    await env.FILES.put(inputRef, JSON.stringify(request));
    rows.push({ id, tenantId, type: "chat_completion" as const, params: { keyId: "key-test" }, inputRef, requestId: `req-${i}` });
  }
  const db = openDb(env.DB);
  for (let i = 0; i < rows.length; i += 10) await db.insert(schema.tasks).values(rows.slice(i, i + 10));
  return rows.map((r, i) => ({ id: r.id, kind: kindOf(i), failTimes: kindOf(i) === "transient" ? 1 + (i % 2) : 0 }));
}

/** Plays the Queues runtime: batches of max_batch_size, retries with the asked delay (not waited), DLQ. */
async function broker(initial: Delivery[], maxRetries: number) {
  let queue = initial;
  const dead: Delivery[] = [];
  const delays: number[][] = [];
  while (queue.length) {
    const round = queue;
    queue = [];
    const batches: Delivery[][] = [];
    for (let i = 0; i < round.length; i += BATCH) batches.push(round.slice(i, i + BATCH));
    let next = 0;
    await Promise.all(
      Array.from({ length: PARALLEL_BATCHES }, async () => {
        while (next < batches.length) {
          const batch = batches[next++]!;
          const outcomes = await deliverRecorded("heavy", batch);
          batch.forEach((m, i) => {
            const o = outcomes[i]!;
            expect(o.acked !== (o.retryDelaySeconds !== null), "every message is either acked or retried").toBe(true);
            if (o.acked) return;
            (delays[m.attempts! - 1] ??= []).push(o.retryDelaySeconds!);
            if (m.attempts! > maxRetries) dead.push(m);
            else queue.push({ body: m.body, attempts: m.attempts! + 1 });
          });
        }
      }),
    );
  }
  for (let i = 0; i < dead.length; i += 10) {
    const r = await deliver("heavy-dlq", dead.slice(i, i + 10));
    expect(r.explicitAcks.length).toBe(Math.min(10, dead.length - i));
  }
  return { dead, delays };
}

describe("failure handling over 1,000 jobs", () => {
  it("ends every job succeeded or failed, retrying with backoff and failing via the dead-letter queue", async () => {
    const maxRetries = Number(env.TEST_MAX_RETRIES);
    expect(maxRetries).toBeGreaterThan(1);
    const tenant = await newTenant();
    const jobs = await createJobs(tenant, crypto.randomUUID().slice(0, 8));
    const { dead, delays } = await broker(jobs.map((j) => ({ body: taskMessage({ id: j.id, tenantId: tenant }), attempts: 1 })), maxRetries);

    const rows = [];
    for (let i = 0; i < jobs.length; i += 90) {
      rows.push(...(await openDb(env.DB).select().from(schema.tasks).where(inArray(schema.tasks.id, jobs.slice(i, i + 90).map((j) => j.id)))));
    }
    const byId = new Map(rows.map((r) => [r.id, r]));
    expect(byId.size).toBe(JOBS);
    const count = { ok: 0, transient: 0, permanent: 0, rejected: 0 };
    for (const j of jobs) {
      const row = byId.get(j.id)!;
      count[j.kind]++;
      if (j.kind === "ok" || j.kind === "transient") {
        expect(row, j.kind).toMatchObject({ status: "succeeded", progress: 1, error: null });
        expect(row.attempts).toBe(j.failTimes + 1);
        expect(await env.FILES.head(row.resultRef!)).not.toBeNull();
      } else if (j.kind === "permanent") {
        expect(row).toMatchObject({ status: "failed", attempts: maxRetries + 1, error: { code: "retries_exhausted" } });
        expect(row.error!.message).toContain("502");
      } else {
        expect(row).toMatchObject({ status: "failed", attempts: 1, error: { code: "model_error" } });
      }
    }
    expect(count).toEqual({ ok: 600, transient: 200, permanent: 100, rejected: 100 });
    expect(dead.length).toBe(100);
    // Backoff grows with the attempt, as configured.
    const s = heavySettings(env);
    for (let a = 1; a <= maxRetries + 1; a++) expect(new Set(delays[a - 1])).toEqual(new Set([backoffSeconds(s, a)]));
    expect(backoffSeconds(s, 2)).toBeGreaterThan(backoffSeconds(s, 1));
  });
});
