import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { seat } from "../../../durable-objects/council/seat.js";
import { tally } from "../../../durable-objects/council/tally.js";
import { weightFactor } from "../../../durable-objects/council/weights.js";
import { CouncilCreateSchema } from "../../../lib/protocol/index.js";
import { create, ctx, DB, expectError, orch, persona, rows, says, scripted, settled, tenant, when } from "./council-helpers.js";

const bounds = { CIO_COUNCIL_WEIGHT_FLOOR: 0.25, CIO_COUNCIL_WEIGHT_CEILING: 2 };

describe("learning from outcomes", () => {
  it("the factor is twice the smoothed hit rate, bounded", () => {
    expect(weightFactor({ correct: 0, total: 0 }, bounds)).toBe(1);
    expect(weightFactor({ correct: 1, total: 1 }, bounds)).toBe(1.3333);
    expect(weightFactor({ correct: 0, total: 1 }, bounds)).toBe(0.6667);
    expect(weightFactor({ correct: 1000, total: 1000 }, bounds)).toBe(1.998);
    expect(weightFactor({ correct: 0, total: 1000 }, bounds)).toBe(0.25);
  });

  it("an outcome moves each assistant's weight with its record, once, and the next council uses the new weights", async () => {
    const t = await tenant();
    const trio = [persona("alpha"), persona("beta"), persona("gamma")];
    const q1 = scripted("Rain tomorrow?", [when("alpha", null, says("YES")), when("beta", null, says("YES")), when("gamma", null, says("NO"))]);
    const first = await settled(t, (await create(t, { question: q1, assistants: trio, options: ["YES", "NO"] })).id);
    expect(first.decision!.option).toBe("YES");
    expect(first.assistants.map((a) => a.weight)).toEqual([1, 1, 1]);

    // It did not rain: gamma was right, alpha and beta wrong.
    const reported = await orch().councils({ ...ctx(t), action: "outcome", councilId: first.id, body: { option: "no" } });
    expect(reported).toMatchObject({ kind: "ok", body: { outcome: { option: "NO", source: "reported" } } });
    // Reporting it again is harmless and counts nothing twice; a different outcome is refused.
    await orch().councils({ ...ctx(t), action: "outcome", councilId: first.id, body: { option: "NO" } });
    expectError(await orch().councils({ ...ctx(t), action: "outcome", councilId: first.id, body: { option: "YES" } }), 409, "council_outcome_exists");
    expect(await rows("SELECT assistant_id, correct, total FROM assistant_weights WHERE tenant_id = ? ORDER BY assistant_id", t)).toEqual([
      { assistant_id: "alpha", correct: 0, total: 1 },
      { assistant_id: "beta", correct: 0, total: 1 },
      { assistant_id: "gamma", correct: 1, total: 1 },
    ]);

    // The next council seats them with the new weights, and its tally counts them.
    const q2 = scripted("Rain the day after?", [when("alpha", null, says("YES")), when("beta", null, says("NO")), when("gamma", null, says("NO"))]);
    const second = await settled(t, (await create(t, { question: q2, assistants: trio, options: ["YES", "NO"] })).id);
    expect(Object.fromEntries(second.assistants.map((a) => [a.id, a.weight]))).toEqual({ alpha: 0.6667, beta: 0.6667, gamma: 1.3333 });
    expect(second.rounds[0]!.tally).toEqual({ YES: 0.6667, NO: 2 });
    expect(second.rounds[0]!.share).toBeCloseTo(2 / 2.6667, 12); // NO's 2 of the total weight 0.6667 × 2 + 1.3333, unrounded
    expect((await rows<{ weight: number }>("SELECT weight FROM council_positions WHERE tenant_id = ? AND council_id = ? AND assistant_id = 'gamma'", t, second.id))[0]!.weight).toBe(1.3333);
  });

  it("a consensus on a free answer longer than 60 characters is reported by its exact text, and its voters count as right", async () => {
    const t = await tenant();
    const answer = "Move the billing service to PostgreSQL 16 before the end of the quarter";
    expect(answer.length).toBeGreaterThan(60);
    const trio = [persona("alpha"), persona("beta"), persona("gamma")];
    const q = scripted("What should the team do next?", trio.map((a) => when(a.id, null, says(answer))));
    const c = await settled(t, (await create(t, { question: q, assistants: trio })).id);
    expect(c.decision).toMatchObject({ option: answer, source: "consensus" });

    const reported = await orch().councils({ ...ctx(t), action: "outcome", councilId: c.id, body: { option: answer } });
    expect(reported).toMatchObject({ kind: "ok", body: { outcome: { option: answer, source: "reported" } } });
    expect(await rows("SELECT assistant_id, correct, total FROM assistant_weights WHERE tenant_id = ? ORDER BY assistant_id", t)).toEqual(
      ["alpha", "beta", "gamma"].map((id) => ({ assistant_id: id, correct: 1, total: 1 })),
    );
  });

  it("a tiny weight with a poor record keeps a weight: assistants that all agree still reach consensus", async () => {
    const t = await tenant();
    const ids = ["alpha", "beta", "gamma"];
    await DB().batch(ids.map((id) => DB().prepare("INSERT INTO assistant_weights (tenant_id, assistant_id, correct, total) VALUES (?, ?, 0, 1000)").bind(t, id)));
    // The lowest weight a request may give, times the lowest factor the settings allow: 0.001 × 0.01.
    const body = CouncilCreateSchema.parse({ question: "Agree?", assistants: ids.map((id) => ({ ...persona(id), weight: 0.001 })), options: ["YES", "NO"] });
    const s = await seat({ ...env, CIO_COUNCIL_WEIGHT_FLOOR: "0.01" } as never, { tenantId: t, councilId: "tiny", requestId: "req-tiny", body }, "{}");
    expect(s.assistants.map((a) => a.weight)).toEqual([0.00001, 0.00001, 0.00001]);
    const positions = s.assistants.map((a) => ({ assistant: a.id, round: 1, weight: a.weight, option: "YES", confidence: 0.9, reasoning: "" }));
    expect(tally(1, positions, s.assistants.map((a) => a.weight), s.threshold)).toMatchObject({ leader: "YES", share: 1, consensus: true });
  });

  it("refuses a weight below 0.001", async () => {
    const t = await tenant();
    const reply = await orch().councils({ ...ctx(t), action: "create", body: { question: "Tiny?", assistants: [{ ...persona("alpha"), weight: 0.00001 }] } });
    expectError(reply, 400, "invalid_value");
    if (reply.kind === "error") expect(reply.error.error.message).toContain("a weight is at least 0.001");
  });

  it("weights are per tenant: one tenant's outcomes do not move another's", async () => {
    const [t1, t2] = [await tenant(), await tenant()];
    const q = scripted("Up?", [when("alpha", null, says("UP")), when("beta", null, says("UP"))]);
    const c = await settled(t1, (await create(t1, { question: q, assistants: [persona("alpha"), persona("beta")], options: ["UP", "DOWN"] })).id);
    await orch().councils({ ...ctx(t1), action: "outcome", councilId: c.id, body: { option: "DOWN" } });
    const other = await create(t2, { question: q, assistants: [persona("alpha"), persona("beta")], options: ["UP", "DOWN"] });
    expect(other.assistants.map((a) => a.weight)).toEqual([1, 1]);
    await settled(t2, other.id);
  });
});
