import { describe, expect, it } from "vitest";
import { applyFeedback } from "../../src/learning/feedback.js";
import { recordCalls } from "../../src/learning/record.js";
import { failingBatches } from "./failing-d1.js";
import { baseEnv, newTenant, uniq } from "./helpers.js";

const ALPHA = 0.2;
const stats = (tenantId: string) =>
  baseEnv.DB.prepare("SELECT tool_name, ratings, rating_ema FROM tool_stats WHERE tenant_id = ? ORDER BY tool_name").bind(tenantId).all<{ tool_name: string; ratings: number; rating_ema: number }>();
const rated = (tenantId: string, requestId: string) =>
  baseEnv.DB.prepare("SELECT rating FROM tool_feedback WHERE tenant_id = ? AND request_id = ?").bind(tenantId, requestId).all();

describe("a rating is applied whole or not at all", () => {
  it("a rating whose write failed leaves nothing behind, and the client's retry is applied once", async () => {
    const [tenantId, requestId] = [await newTenant(), uniq("req")];
    const tools = [uniq("a"), uniq("b")].sort();
    await recordCalls(baseEnv.DB, tools.map((tool) => ({ tenantId, requestId, tool, latencyMs: 12, ok: true })), ALPHA);
    const call = { tenantId, requestId: "fb-1", body: { request_id: requestId, rating: 1 } };

    await expect(applyFeedback(failingBatches(baseEnv.DB), call, ALPHA)).rejects.toThrow(/Network connection lost/);
    expect((await rated(tenantId, requestId)).results).toEqual([]);
    expect((await stats(tenantId)).results.map((r) => r.ratings)).toEqual([0, 0]);

    // The client saw a 500 and sends the rating again (the SDKs do): it is applied, to every tool the answer used.
    expect(await applyFeedback(baseEnv.DB, call, ALPHA)).toEqual({ request_id: requestId, rating: 1, tools: expect.arrayContaining(tools) });
    expect((await stats(tenantId)).results).toEqual(tools.map((tool_name) => ({ tool_name, ratings: 1, rating_ema: ALPHA })));
  });

  it("a second rating of the answer is refused and moves no average", async () => {
    const [tenantId, requestId, tool] = [await newTenant(), uniq("req"), uniq("t")];
    await recordCalls(baseEnv.DB, [{ tenantId, requestId, tool, latencyMs: 5, ok: true }], ALPHA);
    const call = (rating: number) => ({ tenantId, requestId: "fb", body: { request_id: requestId, rating } });
    await applyFeedback(baseEnv.DB, call(-1), ALPHA);
    const again = await Promise.allSettled([applyFeedback(baseEnv.DB, call(1), ALPHA), applyFeedback(baseEnv.DB, call(0.5), ALPHA)]);
    expect(again.map((r) => (r.status === "rejected" ? (r.reason as { code?: string }).code : "applied"))).toEqual(["already_rated", "already_rated"]);
    expect((await stats(tenantId)).results).toEqual([{ tool_name: tool, ratings: 1, rating_ema: -ALPHA }]);
    expect((await rated(tenantId, requestId)).results).toEqual([{ rating: -1 }]);
  });

  it("a rating folds into an average that calls and earlier ratings made", async () => {
    const [tenantId, tool] = [await newTenant(), uniq("t")];
    const [r1, r2] = [uniq("req"), uniq("req")];
    await recordCalls(baseEnv.DB, [r1, r2].map((requestId) => ({ tenantId, requestId, tool, latencyMs: 5, ok: true })), ALPHA);
    await applyFeedback(baseEnv.DB, { tenantId, requestId: "fb", body: { request_id: r1, rating: 1 } }, ALPHA);
    await applyFeedback(baseEnv.DB, { tenantId, requestId: "fb", body: { request_id: r2, rating: -0.5 } }, ALPHA);
    const [row] = (await stats(tenantId)).results;
    expect(row!.ratings).toBe(2);
    expect(row!.rating_ema).toBeCloseTo(ALPHA * (1 - ALPHA) + ALPHA * -0.5, 12);
  });
});
