/**
 * One delivery of a batch part's message runs the part at a time (Queues delivers at least once): a claim
 * that died is taken over only once expired, a request it had started is sent again only then, a delivery
 * that lost its claim can neither end the part nor leave its files, and the dead-letter path does not fail
 * requests a live delivery is running. Claims and starts are written by hand where a test needs one that
 * an earlier (dead) delivery left.
 */
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { openDb, schema } from "../../../lib/db/index.js";
import { r2Keys } from "../../../lib/heavy/ids.js";
import type { HeavyMessage } from "../../../lib/protocol/heavy.js";
import type { HeavyEnv } from "../src/env.js";
import { batchInProgress, deliverRecorded, env } from "./support.js";

const LINES = 4;
const TTL_MS = 60_000;
const p = schema.batchParts;

/** A batch of LINES requests in one part, in the state `part` gives it (queued unless said). */
async function batchPart(part: Partial<typeof p.$inferInsert> = {}) {
  const lines = Array.from({ length: LINES }, (_, i) =>
    JSON.stringify({ custom_id: `r${i}`, method: "POST", url: "/v1/chat/completions", body: { model: "mock-model", messages: [{ role: "user", content: `q${i}` }] } }),
  );
  const { tenantId, batchId } = await batchInProgress(lines, 1);
  const endByte = new TextEncoder().encode(lines.map((l) => `${l}\n`).join("")).length;
  await openDb(env.DB).insert(p).values({ batchId, idx: 0, tenantId, startByte: 0, endByte, firstLine: 1, requests: LINES, status: "queued", ...part });
  const msg: HeavyMessage = { kind: "batch_part", batchId, part: 0, tenantId, requestId: "req-test" };
  return { tenantId, batchId, msg };
}

/** The consumer with CIO_BATCH_CLAIM_TTL_MS = TTL_MS, whose model calls are counted per question (q0…); `during` runs inside each. */
function counting(during: () => Promise<unknown> = async () => undefined) {
  const calls: string[] = [];
  const chat = async (call: { body: { messages: { content: string }[] } }) => {
    calls.push(call.body.messages[0]!.content);
    await during();
    return env.ORCHESTRATOR.chat(call as never);
  };
  return { calls, env: { ...env, CIO_BATCH_CLAIM_TTL_MS: String(TTL_MS), ORCHESTRATOR: { chat } } as unknown as HeavyEnv };
}

const partRow = async (batchId: string) => (await openDb(env.DB).select().from(p).where(eq(p.batchId, batchId)))[0]!;
const setPart = (batchId: string, set: Partial<typeof p.$inferInsert>) => openDb(env.DB).update(p).set(set).where(eq(p.batchId, batchId));
const batchRow = async (tenantId: string, batchId: string) =>
  (await openDb(env.DB).select().from(schema.batches).where(and(eq(schema.batches.tenantId, tenantId), eq(schema.batches.id, batchId))))[0]!;

async function outputIds(tenantId: string, fileId: string | null) {
  if (!fileId) return [];
  const [file] = await openDb(env.DB).select().from(schema.files).where(and(eq(schema.files.tenantId, tenantId), eq(schema.files.id, fileId)));
  const text = await (await env.FILES.get(file!.r2Key))!.text();
  return text.trim().split("\n").map((l) => JSON.parse(l) as { custom_id: string; error: { code: string } | null });
}

describe("a batch part's claim", () => {
  it("a part whose delivery died is taken over only once its claim expired", async () => {
    const { tenantId, batchId, msg } = await batchPart({ status: "running", claim: "dead", claimedAt: Date.now() - 10_000 });
    const c = counting();
    const [early] = await deliverRecorded("heavy", [{ body: msg, attempts: 1 }], c.env);
    // Retried when the claim would end (about 50 s on), not dropped, and nothing was sent meanwhile.
    expect(early!.acked).toBe(false);
    expect(early!.retryDelaySeconds).toBeGreaterThan(40);
    expect(early!.retryDelaySeconds).toBeLessThanOrEqual(TTL_MS / 1000);
    expect(c.calls).toEqual([]);

    await setPart(batchId, { claimedAt: Date.now() - TTL_MS - 1 });
    const [late] = await deliverRecorded("heavy", [{ body: msg, attempts: 2 }], c.env);
    expect(late).toEqual({ acked: true, retryDelaySeconds: null });
    expect(c.calls.sort()).toEqual(["q0", "q1", "q2", "q3"]);
    const batch = await batchRow(tenantId, batchId);
    expect(batch).toMatchObject({ status: "completed", completed: LINES, failed: 0 });
    expect((await outputIds(tenantId, batch.outputFileId)).map((o) => o.custom_id).sort()).toEqual(["r0", "r1", "r2", "r3"]);
  });

  it("a request a dead delivery had started is sent again only once that delivery's claim expired", async () => {
    // The earlier delivery gave the part back (an answer it could not record), leaving r1 started under its claim.
    const { tenantId, batchId, msg } = await batchPart({ status: "running" });
    const start = { batchId, part: 0, line: 1, tenantId, claim: "earlier", claimedAt: Date.now() - 5_000 };
    await openDb(env.DB).insert(schema.batchStarts).values(start);
    const c = counting();
    const [first] = await deliverRecorded("heavy", [{ body: msg, attempts: 1 }], c.env);
    expect(first!.acked).toBe(false);
    expect(first!.retryDelaySeconds).toBeGreaterThan(40);
    expect(c.calls.sort()).toEqual(["q0", "q2", "q3"]);
    expect(await partRow(batchId)).toMatchObject({ status: "running", claim: null });

    await openDb(env.DB).update(schema.batchStarts).set({ claimedAt: Date.now() - TTL_MS - 1 }).where(eq(schema.batchStarts.batchId, batchId));
    const [second] = await deliverRecorded("heavy", [{ body: msg, attempts: 2 }], c.env);
    expect(second).toEqual({ acked: true, retryDelaySeconds: null });
    expect(c.calls.sort()).toEqual(["q0", "q1", "q2", "q3"]);
    const batch = await batchRow(tenantId, batchId);
    expect(batch).toMatchObject({ status: "completed", completed: LINES, failed: 0 });
    expect(await openDb(env.DB).select().from(schema.batchStarts).where(eq(schema.batchStarts.batchId, batchId))).toEqual([]);
  });

  it("a delivery whose claim was taken over meanwhile neither ends the part nor leaves its files", async () => {
    const { tenantId, batchId, msg } = await batchPart();
    // While the first delivery's requests are with the model, its (expired) claim is taken by another.
    const c = counting(() => setPart(batchId, { claim: "newer", claimedAt: Date.now() }));
    const [outcome] = await deliverRecorded("heavy", [{ body: msg, attempts: 1 }], c.env);
    expect(outcome!.acked).toBe(true);
    expect(await partRow(batchId)).toMatchObject({ status: "running", claim: "newer" });
    // Its answers are kept for the claim that holds the part; its files are gone.
    expect(await openDb(env.DB).select().from(schema.batchResults).where(eq(schema.batchResults.batchId, batchId))).toHaveLength(LINES);
    expect((await env.FILES.list({ prefix: r2Keys.batchParts(tenantId, batchId) })).objects).toEqual([]);
    expect((await batchRow(tenantId, batchId)).status).toBe("in_progress");
  });

  it("the dead-letter path waits for a delivery still running the part, then fails only what it left", async () => {
    const { tenantId, batchId, msg } = await batchPart({ status: "running", claim: "live", claimedAt: Date.now() });
    await openDb(env.DB).insert(schema.batchResults).values({ batchId, part: 0, line: 0, tenantId, kind: "output", body: JSON.stringify({ custom_id: "r0", error: null }) });
    const ttl = { ...env, CIO_BATCH_CLAIM_TTL_MS: String(TTL_MS) } as HeavyEnv;
    const [held] = await deliverRecorded("heavy-dlq", [{ body: msg, attempts: 1 }], ttl);
    expect(held!.acked).toBe(false);
    expect(held!.retryDelaySeconds).toBeGreaterThan(40);
    expect(await partRow(batchId)).toMatchObject({ status: "running", claim: "live" });

    await setPart(batchId, { claimedAt: Date.now() - TTL_MS - 1 });
    const [dead] = await deliverRecorded("heavy-dlq", [{ body: msg, attempts: 2 }], ttl);
    expect(dead).toEqual({ acked: true, retryDelaySeconds: null });
    const batch = await batchRow(tenantId, batchId);
    expect(batch).toMatchObject({ status: "completed", completed: 1, failed: LINES - 1 });
    expect((await outputIds(tenantId, batch.errorFileId)).map((e) => [e.custom_id, e.error?.code])).toEqual([
      ["r1", "retries_exhausted"],
      ["r2", "retries_exhausted"],
      ["r3", "retries_exhausted"],
    ]);
  });
});
