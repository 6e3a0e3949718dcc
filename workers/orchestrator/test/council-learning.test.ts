import { describe, expect, it } from "vitest";
import { weightFactor } from "../../../durable-objects/council/weights.js";
import { create, ctx, expectError, orch, persona, rows, says, scripted, settled, tenant, when } from "./council-helpers.js";

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
    expect(second.rounds[0]!.share).toBe(0.75);
    expect((await rows<{ weight: number }>("SELECT weight FROM council_positions WHERE tenant_id = ? AND council_id = ? AND assistant_id = 'gamma'", t, second.id))[0]!.weight).toBe(1.3333);
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
