import { describe, expect, it } from "vitest";
import { queueCalls } from "../../src/learning/record-queue.js";
import { baseEnv, newTenant, uniq } from "./helpers.js";
import { Logger } from "../../../../lib/log.js";

const ALPHA = 0.2;
const log = new Logger({ component: "test" });
const stats = (tenantId: string) =>
  baseEnv.DB.prepare("SELECT tool_name, calls, success_ema, latency_ema FROM tool_stats WHERE tenant_id = ? ORDER BY tool_name").bind(tenantId).all();
const call = (tenantId: string, tool: string, requestId: string, ok: boolean, latencyMs: number) => ({ tenantId, requestId, tool, ok, latencyMs });

describe("batched learning records", () => {
  it("answers of one window are written together, with the averages of one write per call", async () => {
    const [tenantId, tool, other] = [await newTenant(), uniq("t"), uniq("u")];
    const s = { flushMs: 50, maxBatch: 100, alpha: ALPHA, log };
    const write = queueCalls(baseEnv.DB, [call(tenantId, tool, "r1", true, 100)], s);
    expect(write).toBeInstanceOf(Promise);
    // Later answers of the window only add their calls: the first answer's write covers them.
    expect(queueCalls(baseEnv.DB, [call(tenantId, tool, "r2", false, 300), call(tenantId, other, "r2", true, 40)], s)).toBeUndefined();
    expect(queueCalls(baseEnv.DB, [call(tenantId, tool, "r3", true, 200)], s)).toBeUndefined();
    expect((await stats(tenantId)).results).toEqual([]);
    await write;

    // One at a time: the first call sets the average, each later one folds in with weight α.
    let success = 1, latency = 100;
    for (const [ok, ms] of [[0, 300], [1, 200]] as const) {
      success = success * (1 - ALPHA) + ALPHA * ok;
      latency = latency * (1 - ALPHA) + ALPHA * ms;
    }
    const rows = (await stats(tenantId)).results as { tool_name: string; calls: number; success_ema: number; latency_ema: number }[];
    const byName = new Map(rows.map((r) => [r.tool_name, r]));
    expect(byName.get(tool)).toMatchObject({ calls: 3 });
    expect(byName.get(tool)!.success_ema).toBeCloseTo(success, 9);
    expect(byName.get(tool)!.latency_ema).toBeCloseTo(latency, 9);
    expect(byName.get(other)).toMatchObject({ calls: 1, success_ema: 1, latency_ema: 40 });
    const logged = await baseEnv.DB.prepare("SELECT request_id, tool_name FROM tool_calls WHERE tenant_id = ? ORDER BY id").bind(tenantId).all();
    expect(logged.results.map((r) => r.request_id)).toEqual(["r1", "r2", "r2", "r3"]);

    // A later batch folds into the existing row the same way.
    await queueCalls(baseEnv.DB, [call(tenantId, tool, "r4", false, 50), call(tenantId, tool, "r5", false, 50)], { ...s, flushMs: 0 });
    const after = (await stats(tenantId)).results.find((r) => r.tool_name === tool) as { calls: number; success_ema: number };
    expect(after.calls).toBe(5);
    expect(after.success_ema).toBeCloseTo(success * (1 - ALPHA) ** 2, 9);
  });

  it("a full batch is written at once, by the answer that filled it", async () => {
    const [tenantId, tool] = [await newTenant(), uniq("t")];
    const s = { flushMs: 1000, maxBatch: 2, alpha: ALPHA, log };
    const opened = queueCalls(baseEnv.DB, [call(tenantId, tool, "r1", true, 10)], s);
    const full = queueCalls(baseEnv.DB, [call(tenantId, tool, "r2", true, 10)], s);
    expect(full).toBeInstanceOf(Promise);
    await full;
    expect((await stats(tenantId)).results).toMatchObject([{ tool_name: tool, calls: 2 }]);
    await opened; // its window ends with nothing left to write
    expect((await stats(tenantId)).results).toMatchObject([{ tool_name: tool, calls: 2 }]);
  });
});
