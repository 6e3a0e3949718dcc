import { describe, expect, it } from "vitest";
import { create, ctx, expectError, get, orch, persona, rows, says, scripted, settled, tenant, when } from "./council-helpers.js";

const duo = [persona("alpha"), persona("beta")];
const split = (q: string, extra: Parameters<typeof when>[3] = {}) =>
  scripted(q, [when("alpha", null, says("BUY"), extra), when("beta", null, says("SELL"), extra)]);

describe("council escalation and the human's decision", () => {
  it("escalates to awaiting_human after the last round and records the human's choice", async () => {
    const t = await tenant();
    const c = await settled(t, (await create(t, { question: split("Trade?"), assistants: duo, options: ["BUY", "SELL", "HOLD"], max_rounds: 2, threshold: 0.6 })).id);
    expect(c.status).toBe("awaiting_human");
    expect(c.decision).toBeNull();
    expect(c.rounds.map((r) => r.leader)).toEqual([null, null]);

    const decided = await orch().councils({ ...ctx(t), action: "decide", councilId: c.id, body: { option: "hold", note: "too close to call" } });
    expect(decided.kind).toBe("ok");
    if (decided.kind !== "ok") return;
    expect(decided.body.status).toBe("decided");
    expect(decided.body.decision).toMatchObject({ option: "HOLD", source: "human", note: "too close to call" });
    expect(await rows("SELECT kind, option, source, note FROM council_decisions WHERE tenant_id = ? AND council_id = ?", t, c.id)).toEqual([
      { kind: "decision", option: "HOLD", source: "human", note: "too close to call" },
    ]);
    expect((await rows("SELECT status, decision FROM councils WHERE tenant_id = ? AND id = ?", t, c.id))[0]).toEqual({ status: "decided", decision: "HOLD" });

    // The same decision again is harmless; a different one is refused and changes nothing.
    expect((await orch().councils({ ...ctx(t), action: "decide", councilId: c.id, body: { option: "HOLD" } })).kind).toBe("ok");
    expectError(await orch().councils({ ...ctx(t), action: "decide", councilId: c.id, body: { option: "BUY" } }), 409, "council_already_decided");
    expect((await get(t, c.id)).kind === "ok" && (await get(t, c.id))).toMatchObject({ body: { decision: { option: "HOLD" } } });
  });

  it("refuses out-of-order actions: a decision while running, an option that is not offered, an outcome before the decision", async () => {
    const t = await tenant();
    const c = await create(t, { question: split("Slow?", { delayMs: 400 }), assistants: duo, options: ["BUY", "SELL"], max_rounds: 1 });
    expectError(await orch().councils({ ...ctx(t), action: "decide", councilId: c.id, body: { option: "BUY" } }), 409, "council_not_awaiting_human");
    expectError(await orch().councils({ ...ctx(t), action: "outcome", councilId: c.id, body: { option: "BUY" } }), 409, "council_not_decided");
    const done = await settled(t, c.id);
    expect(done.status).toBe("awaiting_human");
    expectError(await orch().councils({ ...ctx(t), action: "decide", councilId: c.id, body: { option: "MAYBE" } }), 400, "invalid_option");
    expect((await get(t, c.id))).toMatchObject({ kind: "ok", body: { status: "awaiting_human", decision: null } });
  });

  it("a human picks a free answer longer than 60 characters verbatim", async () => {
    const t = await tenant();
    const [left, right] = ["Keep the monolith and split out only the billing module this quarter", "Rewrite everything as microservices behind one gateway before the summer"];
    expect(Math.min(left.length, right.length)).toBeGreaterThan(60);
    const question = scripted("How do we scale?", [when("alpha", null, says(left)), when("beta", null, says(right)), { when: ["You group answers"], text: JSON.stringify({ groups: [{ label: left, members: [1] }, { label: right, members: [2] }] }) }]);
    const c = await settled(t, (await create(t, { question, assistants: duo, max_rounds: 1 })).id);
    expect(c).toMatchObject({ status: "awaiting_human", rounds: [{ tally: { [left]: 1, [right]: 1 } }] });
    const decided = await orch().councils({ ...ctx(t), action: "decide", councilId: c.id, body: { option: right } });
    expect(decided).toMatchObject({ kind: "ok", body: { status: "decided", decision: { option: right, source: "human" } } });
  });

  it("isolates tenants: another tenant cannot read, decide or report on a council", async () => {
    const [t1, t2] = [await tenant(), await tenant()];
    const c = await settled(t1, (await create(t1, { question: split("Mine?"), assistants: duo, options: ["BUY", "SELL"], max_rounds: 1 })).id);
    expectError(await get(t2, c.id), 404, "council_not_found");
    expectError(await orch().councils({ ...ctx(t2), action: "decide", councilId: c.id, body: { option: "BUY" } }), 404);
    expectError(await orch().councils({ ...ctx(t2), action: "outcome", councilId: c.id, body: { option: "BUY" } }), 404);
    expect(await get(t1, c.id)).toMatchObject({ kind: "ok", body: { status: "awaiting_human" } });
    expect(await rows("SELECT id FROM councils WHERE tenant_id = ?", t2)).toEqual([]);
  });

  it("create is idempotent by id; the same id with a different definition is refused", async () => {
    const t = await tenant();
    const body = { id: "fixed-id", question: split("Once?"), assistants: duo, options: ["BUY", "SELL"], max_rounds: 1 };
    const first = await orch().councils({ ...ctx(t), action: "create", body });
    const again = await orch().councils({ ...ctx(t), action: "create", body });
    expect(first).toMatchObject({ kind: "ok", status: 201 });
    expect(again).toMatchObject({ kind: "ok", status: 200, body: { id: "fixed-id" } });
    expectError(await orch().councils({ ...ctx(t), action: "create", body: { ...body, question: "Different?" } }), 409, "council_exists");
    await settled(t, "fixed-id");
    expect(await rows("SELECT count(*) AS n FROM councils WHERE tenant_id = ?", t)).toEqual([{ n: 1 }]);
  });

  it("rejects bad definitions with a clear error and creates nothing", async () => {
    const t = await tenant();
    for (const body of [
      { question: "" , assistants: duo },
      { question: "No one?" },
      { question: "Dupes?", assistants: [persona("a"), persona("a")] },
      { question: "Threshold?", assistants: duo, threshold: 1.5 },
      { question: "Trading?", preset: "trading" },
      // The trading preset's decisions are measured as BUY, SELL or HOLD: options of its own could never be.
      { question: "Trading?", preset: "trading", symbol: "BTCUSDT", options: ["YES", "NO"] },
    ]) expectError(await orch().councils({ ...ctx(t), action: "create", body }), 400, "invalid_value");
    expect(await rows("SELECT id FROM councils WHERE tenant_id = ?", t)).toEqual([]);
  });
});
