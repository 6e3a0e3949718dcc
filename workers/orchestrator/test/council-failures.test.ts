/**
 * Steps that fail: a round too big for one D1 statement, a round D1 never records, a session notice that
 * does not go out. The council either gets past them or ends visibly; it never stays running for ever.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { councilStub } from "../src/councils/rpc.js";
import { TRADING_ASSISTANTS } from "../../../durable-objects/council/trading/preset.js";
import { create, ctx, orch, patchEnv, persona, rows, says, scripted, settled, tenant, when } from "./council-helpers.js";

const duo = [persona("alpha"), persona("beta")];

/** The object's D1, refusing every batch with a statement on `table` (council_positions: a round D1 will never record). */
function refusing(db: D1Database, table: string): D1Database {
  const refused = new WeakSet<object>();
  const marked = (st: D1PreparedStatement): D1PreparedStatement => {
    const p = new Proxy(st, { get: (o, k) => (k === "bind" ? (...args: unknown[]) => marked(o.bind(...args)) : bound(o, k)) });
    refused.add(p);
    return p;
  };
  return new Proxy(db, {
    get: (o, k) => {
      if (k === "prepare") return (sql: string) => (sql.includes(table) ? marked(o.prepare(sql)) : o.prepare(sql));
      if (k === "batch") return (stmts: D1PreparedStatement[]) => (stmts.some((s) => refused.has(s)) ? Promise.reject(new Error("D1_ERROR: refused by the test")) : o.batch(stmts));
      return bound(o, k);
    },
  });
}
/** The object's D1, failing every query on `tenants` while `down()` says so (a short outage of D1). */
function unreachableTenants(db: D1Database, down: () => boolean): D1Database {
  return new Proxy(db, {
    get: (o, k) => {
      if (k !== "prepare") return bound(o, k);
      return (sql: string) => {
        if (down() && sql.includes('"tenants"')) throw new Error("D1_ERROR: network connection lost (test)");
        return o.prepare(sql);
      };
    },
  });
}
const bound = (o: object, k: string | symbol) => {
  const v = Reflect.get(o, k, o);
  return typeof v === "function" ? v.bind(o) : v;
};

/** A session binding that records the statuses it hears; `fails` says which publish throws instead. */
function fakeSession(fails: (status: string) => boolean) {
  const heard: string[] = [];
  const publish = async (_ref: unknown, ev: { status: string }) => {
    if (fails(ev.status)) throw new Error(`the session is unreachable (test, ${ev.status})`);
    heard.push(ev.status);
    return { seq: heard.length };
  };
  return { heard, SESSIONS: { idFromName: (n: string) => n, get: () => ({ publish }) } as never };
}

/** A council of the duo reporting to session "sess-1", whose first notice of `status` the session refuses. */
async function toldOnceLate(id: string, status: string, votes: [string, string]) {
  const t = await tenant();
  let failures = 0;
  const session = fakeSession((s) => s === status && failures++ === 0);
  await patchEnv(t, id, () => ({ SESSIONS: session.SESSIONS }));
  const question = scripted(`${id}?`, [when("alpha", null, says(votes[0])), when("beta", null, says(votes[1]))]);
  await create(t, { id, question, assistants: duo, options: ["BUY", "SELL"], max_rounds: 1, session_id: "sess-1" });
  return { t, heard: session.heard, failures: () => failures, view: await settled(t, id) };
}

const alarmOf = (t: string, id: string) => runInDurableObject(councilStub(env as never, t, id), (_o, state) => state.storage.getAlarm());

describe("council steps that fail", () => {
  it("twelve assistants, the most a council may have, reach a decision and D1 records all twelve positions", async () => {
    const t = await tenant();
    const panel = Array.from({ length: 12 }, (_, i) => persona(`member${i + 1}`));
    const question = scripted("Twelve of us?", panel.map((a) => when(a.id, 1, says("YES"))));
    const c = await settled(t, (await create(t, { question, assistants: panel, options: ["YES", "NO"], max_rounds: 1 })).id, 15_000);
    expect(c).toMatchObject({ status: "consensus", decision: { option: "YES" } });
    expect(await rows("SELECT count(*) AS n FROM council_positions WHERE tenant_id = ? AND council_id = ?", t, c.id)).toEqual([{ n: 12 }]);
    expect(await rows("SELECT status FROM councils WHERE tenant_id = ? AND id = ?", t, c.id)).toEqual([{ status: "consensus" }]);
  });

  it("an admission check D1 cannot answer for a second is the step's failure, retried with backoff: no assistant abstains for it", async () => {
    const t = await tenant();
    const id = "admission-blip";
    const until = Date.now() + 1_500;
    await patchEnv(t, id, ({ DB }) => ({ DB: unreachableTenants(DB, () => Date.now() < until) }));
    const question = scripted("Blip?", [when("alpha", null, says("BUY")), when("beta", null, says("BUY"))]);
    await create(t, { id, question, assistants: duo, options: ["BUY", "SELL"], max_rounds: 1 });
    const c = await settled(t, id, 15_000);
    expect(c).toMatchObject({ status: "consensus", decision: { option: "BUY" } });
    expect(c.rounds[0]!.positions.map((p) => [p.assistant, p.option, p.error])).toEqual([["alpha", "BUY", undefined], ["beta", "BUY", undefined]]);
    expect(await rows("SELECT status FROM councils WHERE tenant_id = ? AND id = ?", t, id)).toEqual([{ status: "consensus" }]);
  });

  it("a round D1 never records fails the council after CIO_COUNCIL_STEP_ATTEMPTS tries, in the view, D1 and the session", async () => {
    const t = await tenant();
    const id = "never-recorded";
    const session = fakeSession(() => false);
    await patchEnv(t, id, ({ DB }) => ({ DB: refusing(DB, "council_positions"), SESSIONS: session.SESSIONS, CIO_COUNCIL_STEP_ATTEMPTS: "2" }));
    const question = scripted("Recorded?", [when("alpha", null, says("YES")), when("beta", null, says("YES"))]);
    await create(t, { id, question, assistants: duo, options: ["YES", "NO"], max_rounds: 1, session_id: "sess-1" });
    const c = await settled(t, id, 10_000);
    expect(c).toMatchObject({ status: "failed", error_code: "council_failed" });
    expect(c.error).toMatch(/^round 1 could not be completed \(2 tries\): .*refused by the test/);
    expect(await rows("SELECT status FROM councils WHERE tenant_id = ? AND id = ?", t, id)).toEqual([{ status: "failed" }]);
    expect(await rows("SELECT kind, note FROM council_decisions WHERE tenant_id = ? AND council_id = ?", t, id)).toEqual([{ kind: "failure", note: c.error }]);
    await expect.poll(() => session.heard, { timeout: 5_000 }).toContain("failed");
    await expect.poll(() => alarmOf(t, id), { timeout: 5_000 }).toBeNull(); // nothing left to retry
  });

  it("the session notice of the escalation that fails is sent again: the human is still asked", async () => {
    const c = await toldOnceLate("lost-notice", "awaiting_human", ["BUY", "SELL"]);
    expect(c.view.status).toBe("awaiting_human");
    await expect.poll(() => c.heard, { timeout: 5_000 }).toContain("awaiting_human");
    expect(c.failures()).toBeGreaterThan(1); // it did fail once, and was tried again
    await expect.poll(() => alarmOf(c.t, "lost-notice"), { timeout: 5_000 }).toBeNull();
  });

  it("an event the session could not take goes out later, in order, though the council moved on meanwhile", async () => {
    const c = await toldOnceLate("told-late", "running", ["BUY", "BUY"]);
    expect(c.view.status).toBe("consensus");
    await expect.poll(() => c.heard, { timeout: 5_000 }).toEqual(["running", "round_finished", "consensus"]);
    expect(c.failures()).toBe(2); // the opening's notice failed once and went out on the next try
  });

  it("a notice that never goes out is given up after CIO_COUNCIL_STEP_ATTEMPTS tries instead of retried for ever", async () => {
    const t = await tenant();
    const id = "never-told";
    const session = fakeSession((status) => status === "awaiting_human");
    await patchEnv(t, id, () => ({ SESSIONS: session.SESSIONS, CIO_COUNCIL_STEP_ATTEMPTS: "2" }));
    const question = scripted("Nobody listens?", [when("alpha", null, says("BUY")), when("beta", null, says("SELL"))]);
    await create(t, { id, question, assistants: duo, options: ["BUY", "SELL"], max_rounds: 1, session_id: "sess-1" });
    await settled(t, id);
    await expect.poll(() => alarmOf(t, id), { timeout: 5_000 }).toBeNull();
    expect(await runDurableObjectAlarm(councilStub(env as never, t, id))).toBe(false);
    expect((await settled(t, id)).status).toBe("awaiting_human"); // the escalation stands; only its notice was lost
  });

  it("a paper order that cannot be placed is given up, and the paper book shows it failed, beside the decision", async () => {
    const t = await tenant();
    const id = "order-refused";
    // The order and position move in one batch, which D1 refuses; a lone insert of the order row it takes.
    await patchEnv(t, id, ({ DB }) => ({ DB: refusing(DB, "paper_positions"), CIO_COUNCIL_STEP_ATTEMPTS: "2" }));
    const question = scripted("Trade it, refused?", TRADING_ASSISTANTS.map((a) => when(a.id, null, says("BUY"))));
    await create(t, { id, question, preset: "trading", symbol: "BTCUSDT" });
    const c = await settled(t, id, 20_000, (v) => v.paper_order != null);
    const failed = { council_id: id, side: "BUY", qty: 0, status: "failed", reason: expect.stringMatching(/^not placed \(2 tries\): .*refused by the test/) };
    expect(c).toMatchObject({ status: "consensus", decision: { option: "BUY" }, paper_order: failed });
    const book = await orch().trading({ ...ctx(t), action: "positions" });
    expect(book).toMatchObject({ kind: "ok", body: { positions: [], orders: [{ ...failed, reason: (c.paper_order as { reason: string }).reason }] } });
    await expect.poll(() => alarmOf(t, id), { timeout: 5_000 }).toBeNull();
  });
});
