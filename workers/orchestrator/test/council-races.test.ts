/**
 * Concurrent calls on one council. A handler awaits D1 between reading the state and saving it, and a
 * Durable Object takes other calls during that I/O, so these fire conflicting calls at once and check that
 * exactly one wins and that D1 and the object agree on which. The object's D1 is slowed down so the calls
 * overlap every time instead of now and then.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { CouncilView, RpcReply } from "../../../lib/protocol/index.js";
import { councilStub } from "../src/councils/rpc.js";
import { create, ctx, get, orch, patchEnv, persona, rows, says, scripted, settled, tenant, when } from "./council-helpers.js";

const duo = [persona("alpha"), persona("beta")];
const stub = (t: string, id: string) => councilStub(env as never, t, id);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The object's D1, with every query and batch answered `ms` later. */
async function slowD1(t: string, id: string, ms = 50) {
  const delayed = <T extends object>(target: T, wrap: (name: string, v: unknown) => unknown): T =>
    new Proxy(target, { get: (o, k) => wrap(String(k), Reflect.get(o, k, o)) });
  const statement = (s: D1PreparedStatement): D1PreparedStatement =>
    delayed(s, (name, v) => {
      if (typeof v !== "function") return v;
      if (name === "bind") return (...args: unknown[]) => statement(v.apply(s, args));
      if (["run", "all", "raw", "first"].includes(name)) return async (...args: unknown[]) => (await sleep(ms), v.apply(s, args));
      return v.bind(s);
    });
  await patchEnv(t, id, ({ DB: db }) => ({
    DB: delayed(db, (name, v) => {
      if (typeof v !== "function") return v;
      if (name === "prepare") return (sql: string) => statement(db.prepare(sql));
      if (name === "batch") return async (stmts: D1PreparedStatement[]) => (await sleep(ms), db.batch(stmts));
      return v.bind(db);
    }),
  }));
}

/** A session binding that takes `ms` per event; returns the statuses it was told, in order. */
async function slowSession(t: string, id: string, ms: number): Promise<string[]> {
  const heard: string[] = [];
  const publish = async (_ref: unknown, ev: { status: string }) => (await sleep(ms), heard.push(ev.status), { seq: heard.length });
  await patchEnv(t, id, () => ({ SESSIONS: { idFromName: (n: string) => n, get: () => ({ publish }) } as never }));
  return heard;
}

/** Exactly one of the replies succeeded and the others were refused with `code`; returns the winner. */
function oneWinner(replies: RpcReply<CouncilView>[], code: string): CouncilView {
  const ok = replies.filter((r) => r.kind === "ok");
  expect(ok).toHaveLength(1);
  expect(replies.filter((r) => r.kind === "error").map((r) => r.kind === "error" && r.error.error.code)).toEqual(replies.slice(1).map(() => code));
  return (ok[0] as { body: CouncilView }).body;
}

async function escalated(t: string, question: string): Promise<CouncilView> {
  const q = scripted(question, [when("alpha", null, says("BUY")), when("beta", null, says("SELL"))]);
  const c = await settled(t, (await create(t, { question: q, assistants: duo, options: ["BUY", "SELL", "HOLD"], max_rounds: 1, threshold: 0.6 })).id);
  expect(c.status).toBe("awaiting_human");
  await slowD1(t, c.id);
  return c;
}

describe("concurrent calls on one council", () => {
  it("two different decisions at once: one is taken, the other refused, and D1 and the object agree", async () => {
    const t = await tenant();
    const c = await escalated(t, "Buy or sell, at once?");
    const decide = (option: string) => orch().councils({ ...ctx(t), action: "decide", councilId: c.id, body: { option } });
    const won = oneWinner(await Promise.all([decide("BUY"), decide("SELL")]), "council_already_decided");
    const option = won.decision!.option;
    expect(await rows("SELECT option FROM council_decisions WHERE tenant_id = ? AND council_id = ? AND kind = 'decision'", t, c.id)).toEqual([{ option }]);
    expect(await rows("SELECT status, decision FROM councils WHERE tenant_id = ? AND id = ?", t, c.id)).toEqual([{ status: "decided", decision: option }]);
    expect(await get(t, c.id)).toMatchObject({ kind: "ok", body: { status: "decided", decision: { option, source: "human" } } });
  });

  it("the same decision twice at once: both answer it, and it is recorded once", async () => {
    const t = await tenant();
    const c = await escalated(t, "Hold, twice at once?");
    const decide = () => orch().councils({ ...ctx(t), action: "decide", councilId: c.id, body: { option: "HOLD" } });
    const replies = await Promise.all([decide(), decide()]);
    expect(replies.map((r) => r.kind === "ok" && r.body.decision?.option)).toEqual(["HOLD", "HOLD"]);
    expect(await rows("SELECT option FROM council_decisions WHERE tenant_id = ? AND council_id = ?", t, c.id)).toEqual([{ option: "HOLD" }]);
  });

  it("two creates with one id and different definitions at once: one opens it, the other is refused", async () => {
    const t = await tenant();
    await slowD1(t, "raced");
    const q = (s: string) => scripted(s, [when("alpha", null, says("YES")), when("beta", null, says("YES"))]);
    const start = (question: string) => orch().councils({ ...ctx(t), action: "create", body: { id: "raced", question, assistants: duo, options: ["YES", "NO"], max_rounds: 1 } });
    const replies = await Promise.all([start(q("First?")), start(q("Second?"))]);
    const won = oneWinner(replies, "council_exists");
    expect(replies.find((r) => r.kind === "ok")).toMatchObject({ status: 201 });
    const done = await settled(t, "raced");
    expect(done.question).toBe(won.question);
    expect(await rows("SELECT question FROM councils WHERE tenant_id = ?", t)).toEqual([{ question: won.question }]);
  });

  it("the same create twice at once: one opens it (201), the other gets it back (200)", async () => {
    const t = await tenant();
    await slowD1(t, "twice");
    const body = { id: "twice", question: scripted("Twice at once?", [when("alpha", null, says("YES")), when("beta", null, says("YES"))]), assistants: duo, options: ["YES", "NO"], max_rounds: 1 };
    const replies = await Promise.all([0, 1].map(() => orch().councils({ ...ctx(t), action: "create", body })));
    expect(replies.map((r) => r.kind === "ok" && r.status).sort()).toEqual([200, 201]);
    await settled(t, "twice");
  });

  it("a decision made while the alarm tells the session of the escalation is kept, and the session hears it", async () => {
    const t = await tenant();
    const heard = await slowSession(t, "mid-notice", 300);
    const q = scripted("Decide mid-notice?", [when("alpha", null, says("BUY")), when("beta", null, says("SELL"))]);
    await create(t, { id: "mid-notice", question: q, assistants: duo, options: ["BUY", "SELL"], max_rounds: 1, session_id: "sess-1" });
    // The escalation is saved before the session is told; the decision lands while the telling is under way.
    await settled(t, "mid-notice", 10_000);
    expect(heard).not.toContain("awaiting_human");
    const decided = await orch().councils({ ...ctx(t), action: "decide", councilId: "mid-notice", body: { option: "SELL" } });
    expect(decided).toMatchObject({ kind: "ok", body: { status: "decided" } });
    const alarm = () => runInDurableObject(stub(t, "mid-notice"), (_o, state) => state.storage.getAlarm());
    await expect.poll(alarm, { timeout: 10_000, interval: 25 }).toBeNull();
    expect(await get(t, "mid-notice")).toMatchObject({ kind: "ok", body: { status: "decided", decision: { option: "SELL" } } });
    expect(await rows("SELECT status, decision FROM councils WHERE tenant_id = ? AND id = ?", t, "mid-notice")).toEqual([{ status: "decided", decision: "SELL" }]);
    expect(heard.at(-1)).toBe("decided");
  });

  it("a reported outcome racing the measured one: one is booked, the other refused, and weights, D1 and the object agree", async () => {
    const t = await tenant();
    const q = scripted("Rain, at once?", [when("alpha", null, says("YES")), when("beta", null, says("NO")), when("gamma", null, says("YES"))]);
    const c = await settled(t, (await create(t, { question: q, assistants: [...duo, persona("gamma")], options: ["YES", "NO"] })).id);
    expect(c.decision!.option).toBe("YES");
    await slowD1(t, c.id);
    const reported = orch().councils({ ...ctx(t), action: "outcome", councilId: c.id, body: { option: "YES" } });
    const measured = stub(t, c.id).outcome(t, { option: "NO" }, "measured") as Promise<RpcReply<CouncilView>>;
    const won = oneWinner(await Promise.all([reported, measured]), "council_outcome_exists");
    const option = won.outcome!.option;
    expect(await rows("SELECT outcome, outcome_source FROM councils WHERE tenant_id = ? AND id = ?", t, c.id)).toEqual([{ outcome: option, outcome_source: won.outcome!.source }]);
    expect(await rows("SELECT option FROM council_decisions WHERE tenant_id = ? AND council_id = ? AND kind = 'outcome'", t, c.id)).toEqual([{ option }]);
    expect(await get(t, c.id)).toMatchObject({ kind: "ok", body: { outcome: { option } } });
    // Each assistant counted once, right when its vote was the booked outcome.
    const right = (who: string) => ((who === "beta" ? "NO" : "YES") === option ? 1 : 0);
    expect(await rows("SELECT assistant_id, correct, total FROM assistant_weights WHERE tenant_id = ? ORDER BY assistant_id", t)).toEqual(
      ["alpha", "beta", "gamma"].map((who) => ({ assistant_id: who, correct: right(who), total: 1 })),
    );
  });
});
