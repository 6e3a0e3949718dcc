/**
 * The steps between a batch's parts and its end that a failure can interrupt: handing the next part to the
 * queue, ending the task after the batch, and the dead-letter path failing a batch. Each failure is played
 * once (a queue send or a D1 statement that throws, as an outage does), then the message is delivered
 * again, as the Queues runtime would: the batch and its task must both end.
 */
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { openDb, schema } from "../../../lib/db/index.js";
import type { HeavyMessage } from "../../../lib/protocol/heavy.js";
import { withDirective } from "../../../test/mock-upstream/directive.js";
import type { HeavyEnv } from "../src/env.js";
import { batchInProgress, batchRow, deliverRecorded, env, readTask, taskMessage, validatingBatch } from "./support.js";

const PART_LINES = 2;

/** A batch of `parts` parts of PART_LINES requests each, planned with only the first part queued. */
async function plannedBatch(parts: number) {
  const lines = Array.from({ length: parts * PART_LINES }, (_, i) =>
    JSON.stringify({ custom_id: `r${i}`, method: "POST", url: "/v1/chat/completions", body: { model: "mock-model", messages: [{ role: "user", content: withDirective(`q${i}`, { text: `a${i}` }) }] } }),
  );
  const { tenantId, batchId, task } = await batchInProgress(lines, parts);
  const db = openDb(env.DB);
  const bytes = (l: string[]) => new TextEncoder().encode(l.map((x) => `${x}\n`).join("")).length;
  for (let idx = 0; idx < parts; idx++) {
    const startByte = bytes(lines.slice(0, idx * PART_LINES));
    const endByte = bytes(lines.slice(0, (idx + 1) * PART_LINES));
    await db.insert(schema.batchParts).values({ batchId, idx, tenantId, startByte, endByte, firstLine: idx * PART_LINES + 1, requests: PART_LINES, status: idx === 0 ? "queued" : "pending" });
  }
  const msg = (part: number): HeavyMessage => ({ kind: "batch_part", batchId, part, tenantId, requestId: "req-test" });
  return { tenantId, batchId, task, msg };
}

/** `n` chat requests as batch input lines (custom_id r0, r1, …), each asking `content`. */
const requestLines = (n: number, content = "hi") =>
  Array.from({ length: n }, (_, i) => JSON.stringify({ custom_id: `r${i}`, method: "POST", url: "/v1/chat/completions", body: { model: "mock-model", messages: [{ role: "user", content }] } }));

/** A queue whose sends are recorded; the first `failures` of them throw. */
function queue(failures = 0) {
  const sent: HeavyMessage[] = [];
  let left = failures;
  const q = {
    send: async (body: HeavyMessage) => {
      if (left-- > 0) throw new Error("Queue send failed: internal error");
      sent.push(body);
    },
    sendBatch: async (msgs: { body: HeavyMessage }[]) => void sent.push(...msgs.map((m) => m.body)),
  };
  return { sent, q: q as unknown as HeavyEnv["HEAVY_QUEUE"] };
}

/** D1, except that the first statement matching `pattern` throws, as one caught by an outage does. */
function d1FailingOnce(pattern: RegExp): D1Database {
  let failed = false;
  return new Proxy(env.DB, {
    get(target, prop) {
      if (prop === "prepare") {
        return (sql: string) => {
          if (!failed && pattern.test(sql)) {
            failed = true;
            throw new Error("D1_ERROR: Network connection lost.");
          }
          return target.prepare(sql);
        };
      }
      const v = Reflect.get(target, prop) as unknown;
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

describe("a batch whose steps are interrupted still ends", () => {
  it("the next part taken by a finished part whose send failed is taken again by the retry: no part waits for good", async () => {
    const { tenantId, batchId, task, msg } = await plannedBatch(3);
    const failing = queue(1);
    const [first] = await deliverRecorded("heavy", [{ body: msg(0), attempts: 1 }], { ...env, HEAVY_QUEUE: failing.q });
    expect(first!.acked).toBe(false);

    // The retry of part 0's message (its part is done) hands on part 1, and each part then hands on the next.
    const ok = queue();
    let next: HeavyMessage | undefined = msg(0);
    for (let attempt = 2; next; attempt = 1) {
      const [outcome] = await deliverRecorded("heavy", [{ body: next, attempts: attempt }], { ...env, HEAVY_QUEUE: ok.q });
      expect(outcome).toEqual({ acked: true, retryDelaySeconds: null });
      next = ok.sent.shift();
    }
    expect(await batchRow(tenantId, batchId)).toMatchObject({ status: "completed", completed: 3 * PART_LINES, failed: 0, partsDone: 3 });
    expect((await readTask(task.id)).status).toBe("succeeded");
  });

  it("two deliveries of one part at once send each request once, and the batch's output keeps every line", async () => {
    const { tenantId, batchId, task, msg } = await plannedBatch(2);
    const ok = queue();
    const calls: string[] = [];
    // Slow answers, so the second delivery comes while the first still runs the part.
    const chat = async (call: { body: { messages: { content: string }[] } }) => {
      calls.push(call.body.messages[0]!.content);
      await new Promise((r) => setTimeout(r, 300));
      return env.ORCHESTRATOR.chat(call as never);
    };
    const slow = { ...env, HEAVY_QUEUE: ok.q, ORCHESTRATOR: { chat } as unknown as HeavyEnv["ORCHESTRATOR"] };
    const outcomes = (await Promise.all([1, 2].map(() => deliverRecorded("heavy", [{ body: msg(0), attempts: 1 }], slow)))).flat();
    // One ran the part; the other is retried once the first one's claim would have ended, not dropped.
    expect(outcomes.filter((o) => o.acked)).toHaveLength(1);
    expect(outcomes.find((o) => !o.acked)!.retryDelaySeconds).toBeGreaterThan(1000);
    expect(calls).toHaveLength(PART_LINES);
    const [again] = await deliverRecorded("heavy", [{ body: msg(0), attempts: 2 }], slow);
    expect(again).toEqual({ acked: true, retryDelaySeconds: null });
    expect(calls).toHaveLength(PART_LINES);

    for (let next = ok.sent.shift(); next; next = ok.sent.shift()) await deliverRecorded("heavy", [{ body: next, attempts: 1 }], { ...env, HEAVY_QUEUE: ok.q });
    const row = await batchRow(tenantId, batchId);
    expect(row).toMatchObject({ status: "completed", completed: 2 * PART_LINES, failed: 0 });
    expect((await readTask(task.id)).status).toBe("succeeded");
    const [file] = await openDb(env.DB).select().from(schema.files).where(and(eq(schema.files.tenantId, tenantId), eq(schema.files.id, row.outputFileId!)));
    const content = await (await env.FILES.get(file!.r2Key))!.text();
    expect(new TextEncoder().encode(content).length).toBe(file!.bytes);
    const ids = content.trim().split("\n").map((l) => (JSON.parse(l) as { custom_id: string }).custom_id);
    expect(ids.sort()).toEqual(Array.from({ length: 2 * PART_LINES }, (_, i) => `r${i}`).sort());
  });

  it("a batch that ended while its task's write failed has its task ended by the redelivery", async () => {
    const { tenantId, batchId, task, msg } = await plannedBatch(1);
    // The statement that ends the task (the only task update here that sets finished_at).
    const taskEnd = d1FailingOnce(/^update "tasks" set .*"finished_at" = \?/);
    const [first] = await deliverRecorded("heavy", [{ body: msg(0), attempts: 1 }], { ...env, DB: taskEnd });
    expect(first!.acked).toBe(false);
    expect(await batchRow(tenantId, batchId)).toMatchObject({ status: "completed" });
    expect((await readTask(task.id)).status).toBe("running");

    const [again] = await deliverRecorded("heavy", [{ body: msg(0), attempts: 2 }]);
    expect(again).toEqual({ acked: true, retryDelaySeconds: null });
    expect(await readTask(task.id)).toMatchObject({ status: "succeeded", progress: 1 });
  });

  it("a batch whose input file is gone by the time it is validated fails saying so, instead of validating for good", async () => {
    const { tenantId, batchId, task, fileId } = await validatingBatch("{}\n");
    // Deleted between the batch's creation and its validation (the delete checked before the batch existed).
    await openDb(env.DB).delete(schema.files).where(and(eq(schema.files.tenantId, tenantId), eq(schema.files.id, fileId)));
    const [outcome] = await deliverRecorded("heavy", [{ body: taskMessage(task), attempts: 1 }]);
    expect(outcome!.acked).toBe(true);
    expect((await readTask(task.id)).status).toBe("failed");
    expect(await batchRow(tenantId, batchId)).toMatchObject({ status: "failed", errors: [expect.objectContaining({ code: "file_not_found" })] });
  });

  it("a batch found invalid while its task's write failed has its task failed by the redelivery, not left running", async () => {
    const { tenantId, batchId, task } = await validatingBatch("{}\n");
    const [first] = await deliverRecorded("heavy", [{ body: taskMessage(task), attempts: 1 }], { ...env, DB: d1FailingOnce(/^update "tasks" set "status" = \?, "error"/) });
    expect(first!.acked).toBe(false);
    expect((await batchRow(tenantId, batchId)).status).toBe("failed");
    expect((await readTask(task.id)).status).toBe("running");

    const [again] = await deliverRecorded("heavy", [{ body: taskMessage(task), attempts: 2 }]);
    expect(again!.acked).toBe(true);
    expect(await readTask(task.id)).toMatchObject({ status: "failed", error: { code: "invalid_batch" } });
  });

  it("a batch cancelled while its file is validated queues no part and ends cancelled", async () => {
    const { tenantId, batchId, task } = await validatingBatch(requestLines(6).join("\n"), "running");
    const db = openDb(env.DB);
    // The client cancels while the file is being read, as POST /v1/batches/:id/cancel does.
    const cancelOnRead = {
      get: async (key: string, o?: R2GetOptions) => {
        await db.update(schema.batches).set({ status: "cancelling", cancellingAt: Date.now() }).where(eq(schema.batches.id, batchId));
        return env.FILES.get(key, o);
      },
    } as unknown as HeavyEnv["FILES"];
    const { sent, q } = queue();
    const [outcome] = await deliverRecorded("heavy", [{ body: taskMessage(task), attempts: 1 }], { ...env, FILES: cancelOnRead, HEAVY_QUEUE: q });
    expect(outcome!.acked).toBe(true);
    expect(sent).toEqual([]);
    expect(await db.select().from(schema.batchParts).where(eq(schema.batchParts.batchId, batchId))).toEqual([]);
    expect(await batchRow(tenantId, batchId)).toMatchObject({ status: "cancelled", completed: 0, failed: 0 });
    expect((await readTask(task.id)).status).toBe("cancelled");
  });

  it("a batch over the request limit fails with one too_many_requests error, not one per request past it", async () => {
    const { tenantId, batchId, task } = await validatingBatch(requestLines(6).join("\n"));
    await deliverRecorded("heavy", [{ body: taskMessage(task), attempts: 1 }], { ...env, CIO_BATCH_MAX_REQUESTS: "2" } as HeavyEnv);
    const row = await batchRow(tenantId, batchId);
    expect(row.status).toBe("failed");
    expect((row.errors ?? []).map((e) => e.code)).toEqual(["too_many_requests"]);
  });

  it("fails a batch with a line past CIO_BATCH_MAX_LINE_BYTES as line_too_large, naming the line; one of just that size is a request", async () => {
    const named = (id: string, content: string) => requestLines(1, content)[0]!.replace('"r0"', `"${id}"`);
    const sized = (id: string, bytes: number) => named(id, "x".repeat(bytes - new TextEncoder().encode(named(id, "")).length));
    expect(new TextEncoder().encode(sized("fits", 1024)).length).toBe(1024);
    // The last line, past the bound, ends the file without a line break.
    const lines = [...requestLines(2), sized("fits", 1024), sized("big", 5000), named("after", "hi"), sized("over", 1025)];
    const { tenantId, batchId, task } = await validatingBatch(lines.join("\n"));
    const { sent, q } = queue();
    await deliverRecorded("heavy", [{ body: taskMessage(task), attempts: 1 }], { ...env, HEAVY_QUEUE: q, CIO_BATCH_MAX_LINE_BYTES: "1024" } as HeavyEnv);
    const row = await batchRow(tenantId, batchId);
    expect(row.status).toBe("failed");
    expect(row.errors).toEqual([4, 6].map((line) => ({ code: "line_too_large", message: `Line ${line} is larger than 1024 bytes.`, line, param: null })));
    expect(await readTask(task.id)).toMatchObject({ status: "failed", error: { code: "invalid_batch" } });
    expect(sent).toEqual([]);
  });

  it("cuts parts at CIO_BATCH_PART_MAX_BYTES of input too, not only at CIO_BATCH_PART_SIZE requests", async () => {
    // Six requests of about 600 bytes: under a 1 KiB cap a part holds two of them.
    const { batchId, task } = await validatingBatch(requestLines(6, "x".repeat(500)).join("\n") + "\n");
    const db = openDb(env.DB);
    const { q } = queue();
    await deliverRecorded("heavy", [{ body: taskMessage(task), attempts: 1 }], { ...env, HEAVY_QUEUE: q, CIO_BATCH_PART_MAX_BYTES: "1024" } as HeavyEnv);
    const parts = await db.select().from(schema.batchParts).where(eq(schema.batchParts.batchId, batchId)).orderBy(schema.batchParts.idx);
    expect(parts.map((p) => [p.firstLine, p.requests])).toEqual([[1, 2], [3, 2], [5, 2]]);
  });

  it("stops reading a file at the first request past the limit: the rest is never read (nor its ids held)", async () => {
    const input = requestLines(20_000).join("\n");
    const { tenantId, batchId, task } = await validatingBatch(input);
    let read = 0;
    const counting = {
      get: async (key: string) => {
        const obj = await env.FILES.get(key);
        const count = new TransformStream<Uint8Array, Uint8Array>({ transform: (c, out) => void ((read += c.byteLength), out.enqueue(c)) });
        return obj && { body: obj.body.pipeThrough(count) };
      },
    } as unknown as HeavyEnv["FILES"];
    await deliverRecorded("heavy", [{ body: taskMessage(task), attempts: 1 }], { ...env, FILES: counting, CIO_BATCH_MAX_REQUESTS: "100" } as HeavyEnv);
    expect((await batchRow(tenantId, batchId)).errors).toEqual([expect.objectContaining({ code: "too_many_requests", line: 101 })]);
    expect(read).toBeGreaterThan(0);
    expect(read).toBeLessThan(input.length / 4);
  });

  it("the dead-letter path fails the batch too when an earlier delivery failed only its task, and backs off between tries", async () => {
    const { tenantId, batchId, task } = await validatingBatch("{}\n", "running");
    const [first] = await deliverRecorded("heavy-dlq", [{ body: taskMessage(task), attempts: 1 }], { ...env, DB: d1FailingOnce(/^update "batches"/) });
    expect(first!.acked).toBe(false);
    expect(first!.retryDelaySeconds).toBeGreaterThan(0);
    expect((await readTask(task.id)).status).toBe("failed");
    expect((await batchRow(tenantId, batchId)).status).toBe("validating");

    const [again] = await deliverRecorded("heavy-dlq", [{ body: taskMessage(task), attempts: 2 }]);
    expect(again).toEqual({ acked: true, retryDelaySeconds: null });
    expect(await batchRow(tenantId, batchId)).toMatchObject({ status: "failed", errors: [expect.objectContaining({ code: "retries_exhausted" })] });
  });
});
