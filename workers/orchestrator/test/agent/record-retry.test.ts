import { describe, expect, it } from "vitest";
import { feedback } from "../../src/feedback.js";
import { queueCalls } from "../../src/learning/record-queue.js";
import { Logger } from "../../../../lib/log.js";
import { failingBatches } from "./failing-d1.js";
import { baseEnv, newTenant, uniq } from "./helpers.js";

const lines: { msg: string; dropped?: number }[] = [];
const log = new Logger({ component: "test" });
log.error = (msg: string, extra?: Record<string, unknown>) => void lines.push({ msg, dropped: extra?.dropped as number | undefined });
const settings = (flushMs: number, heldMax?: number) => ({ flushMs, maxBatch: 100, alpha: 0.2, log, heldMax });
const call = (tenantId: string, requestId: string, tool = "web-search") => ({ tenantId, requestId, tool, latencyMs: 30, ok: true });
const written = async (tenantId: string) =>
  (await baseEnv.DB.prepare("SELECT request_id FROM tool_calls WHERE tenant_id = ? ORDER BY id").bind(tenantId).all<{ request_id: string }>()).results.map((r) => r.request_id);

describe("tool calls whose write failed are kept for another", () => {
  it("a window whose write failed opens one more, which writes its calls and those of every tenant", async () => {
    const [a, b] = [await newTenant(), await newTenant()];
    const db = failingBatches(baseEnv.DB, 1);
    const write = queueCalls(db, [call(a, "r1")], settings(20));
    expect(queueCalls(db, [call(b, "r2")], settings(20))).toBeUndefined();
    await write;
    expect([await written(a), await written(b)]).toEqual([["r1"], ["r2"]]);
  });

  it("a retry that fails too keeps the calls, ahead of later ones, for the next answer's window", async () => {
    const t = await newTenant();
    const db = failingBatches(baseEnv.DB, 2);
    await expect(queueCalls(db, [call(t, "r1"), call(t, "r1", "sql")], settings(0))).rejects.toThrow(/Network connection lost/);
    await queueCalls(db, [call(t, "r2")], settings(0));
    expect(await written(t)).toEqual(["r1", "r1", "r2"]);
  });

  it("keeps at most its cap, dropping the oldest with a logged count", async () => {
    const t = await newTenant();
    const db = failingBatches(baseEnv.DB, 2);
    lines.length = 0;
    await expect(queueCalls(db, ["r1", "r2", "r3", "r4"].map((r) => call(t, r)), settings(0, 3))).rejects.toThrow(/Network connection lost/);
    expect(lines).toEqual([{ msg: expect.stringContaining("dropped"), dropped: 1 }]);
    await queueCalls(db, [call(t, "r5")], settings(0, 3));
    expect(await written(t)).toEqual(["r2", "r3", "r4", "r5"]);
  });

  it("POST /v1/feedback still rates other answers while the calls held fail to write, and the held answer once they are written", async () => {
    const t = await newTenant();
    const [held, known] = [uniq("held"), uniq("known")];
    await queueCalls(baseEnv.DB, [call(t, known)], settings(0));
    const db = failingBatches(baseEnv.DB, 2);
    const window = queueCalls(db, [call(t, held)], settings(1_000));
    const env = { ...baseEnv, DB: db };
    const rate = (requestId: string) => feedback(env, { tenantId: t, requestId: uniq("fb"), body: { request_id: requestId, rating: 1 } });

    // The flush before a rating fails: the held answer's rating fails (a 500 the client retries)…
    await expect(rate(held)).rejects.toThrow(/Network connection lost/);
    // …a rating of another answer is applied all the same…
    expect(await rate(known)).toMatchObject({ kind: "ok", result: { request_id: known, tools: ["web-search"] } });
    expect(await written(t)).toEqual([known]);
    // …and the held answer's retried rating finds it written.
    expect(await rate(held)).toMatchObject({ kind: "ok", result: { request_id: held, tools: ["web-search"] } });
    await window;
    expect(await written(t)).toEqual([known, held]);
  });
});
