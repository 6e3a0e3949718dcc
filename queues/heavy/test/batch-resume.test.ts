/**
 * A stalled batch resumed by its planning message, which the orchestrator's housekeeping sends again when a
 * batch task went untouched for CIO_TASK_LOST_AFTER_S (a dead letter dropped after its own retries left a
 * part running under a dead claim, the chain of pending parts broken, or the batch never finalized).
 */
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { openDb, schema } from "../../../lib/db/index.js";
import type { HeavyMessage } from "../../../lib/protocol/heavy.js";
import type { HeavyEnv } from "../src/env.js";
import { batchInProgress, deliver, env, readTask, taskMessage } from "./support.js";

const p = schema.batchParts;
const line = (i: number) =>
  JSON.stringify({ custom_id: `r${i}`, method: "POST", url: "/v1/chat/completions", body: { model: "mock-model", messages: [{ role: "user", content: `q${i}` }] } });
const bytes = (s: string) => new TextEncoder().encode(s).length;

/** A batch of two one-request parts, in the states given; the queue records what is sent instead of sending it. */
async function stalled(part0: Partial<typeof p.$inferInsert>, part1: Partial<typeof p.$inferInsert>) {
  const lines = [line(0), line(1)];
  const b = await batchInProgress(lines, 2);
  const cut = bytes(`${lines[0]}\n`);
  const base = { batchId: b.batchId, tenantId: b.tenantId, requests: 1 };
  await openDb(env.DB).insert(p).values([
    { ...base, idx: 0, startByte: 0, endByte: cut, firstLine: 1, ...part0 },
    { ...base, idx: 1, startByte: cut, endByte: cut + bytes(`${lines[1]}\n`), firstLine: 2, ...part1 },
  ]);
  const sent: HeavyMessage[] = [];
  const queue = { send: async (m: HeavyMessage) => void sent.push(m), sendBatch: async (ms: { body: HeavyMessage }[]) => void sent.push(...ms.map((m) => m.body)) };
  return { ...b, sent, env: { ...env, HEAVY_QUEUE: queue } as unknown as HeavyEnv };
}
const batchOf = async (id: string) => (await openDb(env.DB).select().from(schema.batches).where(eq(schema.batches.id, id)))[0]!;
const DEAD = { status: "running" as const, claim: "dead", claimedAt: Date.now() - 3600_000 };
const DONE = { status: "done" as const, completed: 1 };

describe("a stalled batch, resumed by its planning message", () => {
  it("a part left running under a dead claim is sent again, and running it ends the batch", async () => {
    const s = await stalled(DONE, DEAD);
    await deliver("heavy", [{ body: taskMessage(s.task) }], s.env);
    expect(s.sent).toEqual([expect.objectContaining({ kind: "batch_part", batchId: s.batchId, part: 1 })]);
    await deliver("heavy", [{ body: s.sent[0] }], s.env);
    expect(await batchOf(s.batchId)).toMatchObject({ status: "completed", completed: 2 });
    expect(await readTask(s.task.id)).toMatchObject({ status: "succeeded" });
  });

  it("a part held by a live claim is left to its delivery", async () => {
    const s = await stalled(DONE, { ...DEAD, claimedAt: Date.now() });
    await deliver("heavy", [{ body: taskMessage(s.task) }], s.env);
    expect(s.sent).toEqual([]);
    expect(await batchOf(s.batchId)).toMatchObject({ status: "in_progress" });
  });

  it("with only pending parts left (the chain broke), the next one is queued and sent", async () => {
    const s = await stalled(DONE, {});
    await deliver("heavy", [{ body: taskMessage(s.task) }], s.env);
    expect(s.sent).toEqual([expect.objectContaining({ kind: "batch_part", part: 1 })]);
    expect((await openDb(env.DB).select().from(p).where(eq(p.batchId, s.batchId))).map((x) => x.status)).toEqual(["done", "queued"]);
  });

  it("with every part done, the batch is finalized and its task ends", async () => {
    const s = await stalled(DONE, DONE);
    await deliver("heavy", [{ body: taskMessage(s.task) }], s.env);
    expect(s.sent).toEqual([]);
    expect(await batchOf(s.batchId)).toMatchObject({ status: "completed", completed: 2 });
    expect(await readTask(s.task.id)).toMatchObject({ status: "succeeded" });
  });
});
