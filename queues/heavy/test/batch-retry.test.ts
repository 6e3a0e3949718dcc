/**
 * A batch part that stops midway (a request's orchestrator call throws, or the tenant's rate limit holds it
 * too long) keeps what it answered: the next attempt sends only the rest, so no request reaches the model
 * (and is billed) twice, and the dead-letter path fails only the requests that never finished. Messages are
 * delivered by hand, as the Queues runtime would, so each attempt can be looked at in between.
 */
import { describe, expect, it } from "vitest";
import { eq } from "drizzle-orm";
import { openDb, schema } from "../../../lib/db/index.js";
import type { HeavyMessage } from "../../../lib/protocol/heavy.js";
import { withDirective } from "../../../test/mock-upstream/directive.js";
import type { HeavyEnv } from "../src/env.js";
import { batchRow, deliver, deliverRecorded, env, fileLines, keyOf, newTask, newTenant, putFile, sentTo } from "./support.js";

const LINES = 10;
const OPEN_LIMITS = { keyRpm: 1000, keyConcurrency: 100, tenantRpm: 1000, tenantConcurrency: 100, dailyTokenBudget: null };

/** A batch of LINES requests in one queued part, as planning leaves it; each request's mock id is `<run>-r<i>`. */
async function batchPart(limits: Record<string, number | null> = OPEN_LIMITS, lines = LINES) {
  const run = crypto.randomUUID().slice(0, 8);
  const tenantId = await newTenant();
  const input = Array.from({ length: lines }, (_, i) =>
    JSON.stringify({ custom_id: `r${i}`, method: "POST", url: "/v1/chat/completions", body: { model: "mock-model", messages: [{ role: "user", content: withDirective(`q${i}`, { id: `${run}-r${i}`, delayMs: 300 }) }] } }),
  ).join("\n");
  const fileId = await putFile(tenantId, "in.jsonl", input, "batch");
  const batchId = `batch_${run}`;
  const task = await newTask(tenantId, "batch", { batchId }, { status: "running" });
  const db = openDb(env.DB);
  await db.insert(schema.batches).values({
    id: batchId, tenantId, taskId: task.id, keyId: keyOf(tenantId), limits, inputFileId: fileId, endpoint: "/v1/chat/completions",
    completionWindow: "24h", status: "in_progress", total: lines, partsTotal: 1, expiresAt: Date.now() + 3600_000,
  });
  await db.insert(schema.batchParts).values({ batchId, idx: 0, tenantId, startByte: 0, endByte: new TextEncoder().encode(input).length, firstLine: 1, requests: lines, status: "queued" });
  const msg: HeavyMessage = { kind: "batch_part", batchId, part: 0, tenantId, requestId: "req-test" };
  return { run, tenantId, batchId, msg };
}

const sendCounts = async (run: string) => Promise.all(Array.from({ length: LINES }, async (_, i) => (await sentTo(`${run}-r${i}`)).length));

/**
 * The orchestrator, except that the calls `throws` picks (by request, and how many it threw before) throw, as
 * a failed RPC does; `calls` counts every call made.
 */
function throwing(throws: (content: string, thrown: number) => boolean) {
  let thrown = 0;
  const calls = { n: 0 };
  const chat = async (call: { body: { messages: { content: string }[] } }) => {
    calls.n++;
    if (throws(call.body.messages[0]!.content, thrown)) {
      thrown++;
      throw new Error("orchestrator RPC failed");
    }
    return env.ORCHESTRATOR.chat(call as never);
  };
  return { env: { ...env, ORCHESTRATOR: { chat } as unknown as HeavyEnv["ORCHESTRATOR"] }, calls };
}
/** The call for request `r<line>` throws the first time. */
const throwingOnce = (run: string, line: number) => throwing((content, thrown) => !thrown && content.includes(`"${run}-r${line}"`)).env;

describe("batch parts that stop midway", () => {
  it("a retried part sends only the requests the failed attempt did not finish, and its output has every line", async () => {
    const { run, tenantId, batchId, msg } = await batchPart();
    const [first] = await deliverRecorded("heavy", [{ body: msg, attempts: 1 }], throwingOnce(run, 2));
    expect(first).toEqual({ acked: false, retryDelaySeconds: expect.any(Number) });
    // The attempt ended only after the requests in flight beside the one that threw had been answered.
    const afterFirst = (await Promise.all(Array.from({ length: LINES }, (_, i) => sentTo(`${run}-r${i}`)))).flat();
    expect(afterFirst.length).toBeGreaterThan(0);
    expect(afterFirst.every((r) => r.completed)).toBe(true);

    const [second] = await deliverRecorded("heavy", [{ body: msg, attempts: 2 }]);
    expect(second).toEqual({ acked: true, retryDelaySeconds: null });
    expect(await sendCounts(run)).toEqual(Array(LINES).fill(1));
    const batch = await batchRow(tenantId, batchId);
    expect(batch).toMatchObject({ status: "completed", completed: LINES, failed: 0, errorFileId: null });
    const out = await fileLines(tenantId, batch.outputFileId);
    expect(out.map((o) => o.custom_id).sort()).toEqual(Array.from({ length: LINES }, (_, i) => `r${i}`).sort());
    expect(out.every((o) => o.response?.status_code === 200)).toBe(true);
    expect(await openDb(env.DB).select().from(schema.batchResults).where(eq(schema.batchResults.batchId, batchId))).toEqual([]);
  });

  it("the dead-letter path keeps the answered requests and fails only the ones never finished", async () => {
    const { run, tenantId, batchId, msg } = await batchPart();
    await deliverRecorded("heavy", [{ body: msg, attempts: 1 }], throwingOnce(run, 2));
    const answered = (await sendCounts(run)).filter((n) => n === 1).length;
    expect(answered).toBeGreaterThan(0);
    expect(answered).toBeLessThan(LINES);

    const dead = await deliver("heavy-dlq", [{ body: msg }]);
    expect(dead.explicitAcks).toEqual(dead.ids);
    const batch = await batchRow(tenantId, batchId);
    expect(batch).toMatchObject({ status: "completed", completed: answered, failed: LINES - answered });
    const out = await fileLines(tenantId, batch.outputFileId);
    const errors = await fileLines(tenantId, batch.errorFileId);
    expect(out).toHaveLength(answered);
    expect(errors.map((e) => e.error?.code)).toEqual(Array(LINES - answered).fill("retries_exhausted"));
    expect([...out, ...errors].map((o) => o.custom_id).sort()).toEqual(Array.from({ length: LINES }, (_, i) => `r${i}`).sort());
    expect((await sendCounts(run)).every((n) => n <= 1)).toBe(true);
  });

  it("a request whose call throws every time does not hold back the others: they are answered, and the dead-letter path fails it alone", async () => {
    const { run, tenantId, batchId, msg } = await batchPart();
    const bad = throwing((content) => content.includes(`"${run}-r2"`)).env;
    for (const attempts of [1, 2]) {
      const [outcome] = await deliverRecorded("heavy", [{ body: msg, attempts }], bad);
      expect(outcome).toEqual({ acked: false, retryDelaySeconds: expect.any(Number) });
      expect(await sendCounts(run)).toEqual(Array.from({ length: LINES }, (_, i) => (i === 2 ? 0 : 1)));
    }
    await deliver("heavy-dlq", [{ body: msg }]);
    const batch = await batchRow(tenantId, batchId);
    expect(batch).toMatchObject({ status: "completed", completed: LINES - 1, failed: 1 });
    expect((await fileLines(tenantId, batch.errorFileId)).map((e) => [e.custom_id, e.error?.code])).toEqual([["r2", "retries_exhausted"]]);
  });

  it("when every call throws (the orchestrator is down) an attempt stops after a round of failures instead of trying each request", async () => {
    const many = 40;
    const { run, msg } = await batchPart(OPEN_LIMITS, many);
    const down = throwing(() => true);
    const [outcome] = await deliverRecorded("heavy", [{ body: msg, attempts: 1 }], down.env);
    expect(outcome).toEqual({ acked: false, retryDelaySeconds: expect.any(Number) });
    expect(down.calls.n).toBeGreaterThan(0);
    expect(down.calls.n).toBeLessThan(many);
    expect((await sendCounts(run)).every((n) => n === 0)).toBe(true);
  });

  it("a cancel stops a running part from starting more requests: those in flight are kept, and the batch ends cancelled", async () => {
    const { run, tenantId, batchId, msg } = await batchPart();
    // The cancel comes while the part's first requests are with the model (POST /v1/batches/:id/cancel's write).
    let cancelledAt: Promise<unknown> | undefined;
    const chat = async (call: never) => {
      cancelledAt ??= openDb(env.DB).update(schema.batches).set({ status: "cancelling", cancellingAt: Date.now() }).where(eq(schema.batches.id, batchId));
      await cancelledAt;
      return env.ORCHESTRATOR.chat(call);
    };
    const cancelling = { ...env, ORCHESTRATOR: { chat } as unknown as HeavyEnv["ORCHESTRATOR"], CIO_BATCH_CANCEL_CHECK_MS: "0" } as HeavyEnv;
    const [outcome] = await deliverRecorded("heavy", [{ body: msg, attempts: 1 }], cancelling);
    expect(outcome).toEqual({ acked: true, retryDelaySeconds: null });
    const counts = await sendCounts(run);
    const sent = counts.filter((n) => n === 1).length;
    // Eight run at once (CIO_BATCH_PART_CONCURRENCY); none starts after them.
    expect(sent).toBeGreaterThan(0);
    expect(counts.slice(8)).toEqual([0, 0]);
    const batch = await batchRow(tenantId, batchId);
    expect(batch).toMatchObject({ status: "cancelled", completed: sent, failed: 0 });
    expect(await fileLines(tenantId, batch.outputFileId)).toHaveLength(sent);
  });

  it("a key revoked or a tenant suspended after the batch was created stops its requests: each fails with the reason, no model is called", async () => {
    for (const [why, stop] of [
      ["api_key_revoked", (t: string) => openDb(env.DB).update(schema.apiKeys).set({ revokedAt: Date.now() }).where(eq(schema.apiKeys.id, keyOf(t)))],
      ["tenant_suspended", (t: string) => openDb(env.DB).update(schema.tenants).set({ status: "suspended" }).where(eq(schema.tenants.id, t))],
    ] as const) {
      const { run, tenantId, batchId, msg } = await batchPart();
      await stop(tenantId);
      const [outcome] = await deliverRecorded("heavy", [{ body: msg, attempts: 1 }]);
      expect(outcome).toEqual({ acked: true, retryDelaySeconds: null });
      expect(await sendCounts(run)).toEqual(Array(LINES).fill(0));
      const batch = await batchRow(tenantId, batchId);
      expect(batch).toMatchObject({ status: "completed", completed: 0, failed: LINES });
      expect((await fileLines(tenantId, batch.errorFileId)).map((l) => l.error?.code)).toEqual(Array(LINES).fill(why));
    }
  });

  it("a part held by the tenant's rate limit goes back to the queue delayed, without using a retry, and resumes where it stopped", async () => {
    const { run, tenantId, batchId, msg } = await batchPart({ ...OPEN_LIMITS, keyRpm: 4 });
    const queued: { body: unknown; delaySeconds?: number }[] = [];
    const recordingQueue = { send: async (body: unknown, o?: QueueSendOptions) => void queued.push({ body, delaySeconds: o?.delaySeconds }) };
    const [first] = await deliverRecorded("heavy", [{ body: msg, attempts: 1 }], { ...env, HEAVY_QUEUE: recordingQueue as unknown as HeavyEnv["HEAVY_QUEUE"] });
    expect(first).toEqual({ acked: true, retryDelaySeconds: null });
    expect(queued).toEqual([{ body: msg, delaySeconds: expect.any(Number) }]);
    expect(queued[0]!.delaySeconds).toBeGreaterThan(0);
    expect(queued[0]!.delaySeconds).toBeLessThanOrEqual(60);
    expect((await sendCounts(run)).filter((n) => n === 1)).toHaveLength(4);

    // The minute passes (played by raising the key's limit), and the message comes back as a first delivery.
    await openDb(env.DB).update(schema.batches).set({ limits: OPEN_LIMITS }).where(eq(schema.batches.id, batchId));
    const [second] = await deliverRecorded("heavy", [{ body: queued[0]!.body, attempts: 1 }]);
    expect(second).toEqual({ acked: true, retryDelaySeconds: null });
    expect(await sendCounts(run)).toEqual(Array(LINES).fill(1));
    const batch = await batchRow(tenantId, batchId);
    expect(batch).toMatchObject({ status: "completed", completed: LINES, failed: 0 });
    expect(await fileLines(tenantId, batch.outputFileId)).toHaveLength(LINES);
  });
});
