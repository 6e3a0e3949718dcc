import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { userPrompt } from "../../../durable-objects/council/prompts.js";
import { countRound, type RoundDeps } from "../../../durable-objects/council/round.js";
import type { CouncilState } from "../../../durable-objects/council/state.js";
import { tally } from "../../../durable-objects/council/tally.js";
import { OptionSchema } from "../../../lib/protocol/index.js";
import { councilStub } from "../src/councils/rpc.js";
import { create, patchEnv, persona, rows, says, scripted, settled, tenant, when } from "./council-helpers.js";

const trio = [persona("alpha"), persona("beta"), { ...persona("gamma"), weight: 2 }];
const OPTIONS = ["BUY", "SELL", "HOLD"];

describe("council consensus", () => {
  it("reaches consensus in round 1 when the weighted majority agrees, and audits it in D1", async () => {
    const t = await tenant();
    const question = scripted("Should we buy?", [when("alpha", 1, says("BUY")), when("beta", 1, says("SELL", 0.4)), when("gamma", 1, says("buy", 0.9))]);
    const started = await create(t, { question, assistants: trio, options: OPTIONS });
    expect(started.status).toBe("running");
    const c = await settled(t, started.id);
    expect(c.status).toBe("consensus");
    expect(c.decision).toMatchObject({ option: "BUY", source: "consensus" });
    expect(c.rounds).toHaveLength(1);
    // alpha 1 + gamma 2 of a total weight of 4.
    expect(c.rounds[0]).toMatchObject({ round: 1, leader: "BUY", share: 0.75, consensus: true, tally: { BUY: 3, SELL: 1 } });

    const positions = await rows<{ assistant_id: string; option: string; round: number }>("SELECT assistant_id, option, round FROM council_positions WHERE tenant_id = ? AND council_id = ? ORDER BY assistant_id", t, c.id);
    expect(positions).toEqual([
      { assistant_id: "alpha", option: "BUY", round: 1 },
      { assistant_id: "beta", option: "SELL", round: 1 },
      { assistant_id: "gamma", option: "BUY", round: 1 },
    ]);
    const [council] = await rows("SELECT status, decision, decision_source FROM councils WHERE tenant_id = ? AND id = ?", t, c.id);
    expect(council).toEqual({ status: "consensus", decision: "BUY", decision_source: "consensus" });
    expect(await rows("SELECT kind, option, source FROM council_decisions WHERE tenant_id = ? AND council_id = ?", t, c.id)).toEqual([{ kind: "decision", option: "BUY", source: "consensus" }]);
    expect(await rows("SELECT round, leader, consensus FROM council_rounds WHERE tenant_id = ? AND council_id = ?", t, c.id)).toEqual([{ round: 1, leader: "BUY", consensus: 1 }]);
  });

  it("reaches consensus after debate: round 2 shows the others' positions anonymised and they converge", async () => {
    const t = await tenant();
    const question = scripted("Ship on Friday?", [
      when("alpha", 1, says("YES")),
      when("beta", 1, says("NO")),
      when("gamma", 1, says("NO")),
      when("alpha", 2, says("NO", 0.7, "The others convinced me.")),
      when("beta", 2, says("NO")),
      when("gamma", 2, says("NO")),
    ]);
    const c = await settled(t, (await create(t, { question, assistants: trio.map((a) => ({ ...a, weight: 1 })), options: ["YES", "NO"], threshold: 0.9 })).id);
    expect(c.status).toBe("consensus");
    expect(c.rounds.map((r) => [r.leader, r.consensus])).toEqual([["NO", false], ["NO", true]]);
    expect(c.rounds[1]!.positions.find((p) => p.assistant === "alpha")).toMatchObject({ option: "NO", reasoning: "The others convinced me." });
    expect(await rows("SELECT round FROM council_rounds WHERE tenant_id = ? AND council_id = ? ORDER BY round", t, c.id)).toEqual([{ round: 1 }, { round: 2 }]);
  });

  it("groups free answers through the moderator model before counting", async () => {
    const t = await tenant();
    const question = scripted("Which database?", [
      when("alpha", 1, says("PostgreSQL")),
      when("beta", 1, says("Postgres, clearly")),
      when("gamma", 1, says("SQLite")),
      { when: ["You group answers"], text: JSON.stringify({ groups: [{ label: "PostgreSQL", members: [1, 2] }, { label: "SQLite", members: [3] }] }) },
    ]);
    const c = await settled(t, (await create(t, { question, assistants: trio.map((a) => ({ ...a, weight: 1 })) })).id);
    expect(c.status).toBe("consensus");
    expect(c.decision!.option).toBe("PostgreSQL");
    expect(c.rounds[0]!.tally).toEqual({ PostgreSQL: 2, SQLite: 1 });
  });

  it("free answers that are only punctuation keep their wording when grouped by wording: the winner is an option one can name", async () => {
    const s = { id: "dots", options: null, round: 1, threshold: 0.5, assistants: [1, 2, 3].map(() => ({ weight: 1 })) } as unknown as CouncilState;
    const answer = (assistant: string, option: string) => ({ assistant, option, confidence: 1, reasoning: "", round: 1, weight: 1 });
    // The moderator cannot be reached, so the answers are grouped by their wording.
    const deps = { model: { complete: () => Promise.reject(new Error("no moderator (test)")) }, settings: { CIO_COUNCIL_STEP_TIMEOUT_MS: 1_000 }, log: { warn() {} } } as unknown as RoundDeps;
    const r = await countRound(s, [answer("a", "..."), answer("b", "... "), answer("c", "Yes.")], deps, () => "mock-model");
    expect(r).toMatchObject({ tally: { "...": 2, Yes: 1 }, leader: "...", consensus: true });
    expect(OptionSchema.safeParse(r.leader).success).toBe(true);
  });

  it("records the share it compared with the threshold: two of three is short of 0.6667, and reads so", () => {
    const vote = (assistant: string, option: string) => ({ assistant, option, confidence: 1, reasoning: "", round: 1, weight: 1 });
    const votes = [vote("a", "A"), vote("b", "A"), vote("c", "B")];
    for (const threshold of [0.6667, 2 / 3, 0.6666]) {
      const r = tally(1, votes, [1, 1, 1], threshold);
      expect(r.share).toBe(2 / 3);
      expect(r.consensus).toBe(r.share >= threshold);
    }
    expect(tally(1, votes, [1, 1, 1], 0.6667).consensus).toBe(false);
  });

  it("an assistant whose model keeps failing abstains; its weight still counts in the total", async () => {
    const t = await tenant();
    const question = scripted("Go?", [when("alpha", 1, says("GO")), when("beta", 1, says("GO")), when("gamma", 1, "", { status: 500 })]);
    const c = await settled(t, (await create(t, { question, assistants: trio, options: ["GO", "WAIT"], max_rounds: 1 })).id);
    const gamma = c.rounds[0]!.positions.find((p) => p.assistant === "gamma")!;
    expect(gamma.error).toMatch(/500|upstream/);
    // GO has 2 of 4: exactly the threshold.
    expect(c.rounds[0]).toMatchObject({ share: 0.5, consensus: true, tally: { GO: 2 } });
  });
});

/** Options and assistant ids are anyone's words: those an object already has keys for are counted like any other. */
describe("council names like Object.prototype's members", () => {
  const vote = (assistant: string, option: string) => ({ assistant, option, confidence: 1, reasoning: "", round: 1, weight: 1 });

  it("an option named 'constructor' or '__proto__' is counted, and reaches consensus", () => {
    for (const name of ["constructor", "toString", "valueOf", "__proto__"]) {
      const r = tally(1, [vote("a", name), vote("b", name), vote("c", "other")], [1, 1, 1], 0.5);
      expect(r).toMatchObject({ leader: name, share: 2 / 3, consensus: true });
      expect(Object.entries(r.tally)).toEqual([[name, 2], ["other", 1]]);
    }
  });

  it("a fixed-options council deciding 'toString' reaches consensus, and D1 records its round", async () => {
    const t = await tenant();
    const question = scripted("Which method?", [when("alpha", null, says("toString")), when("beta", null, says("toString")), when("gamma", null, says("valueOf"))]);
    const c = await settled(t, (await create(t, { question, assistants: [persona("alpha"), persona("beta"), persona("gamma")], options: ["toString", "valueOf"], max_rounds: 1 })).id);
    expect(c).toMatchObject({ status: "consensus", decision: { option: "toString" }, rounds: [{ tally: { toString: 2, valueOf: 1 }, leader: "toString", share: 2 / 3 }] });
    expect(await rows("SELECT leader, share, consensus FROM council_rounds WHERE tenant_id = ? AND council_id = ?", t, c.id)).toEqual([{ leader: "toString", share: 2 / 3, consensus: 1 }]);
  });

  it("a stored count whose share is not a number is counted again, not replayed until the council fails", async () => {
    const t = await tenant();
    const id = "unsound-count";
    await patchEnv(t, id, () => ({ CIO_COUNCIL_STEP_ATTEMPTS: "2" }));
    // What the object-based tally stored for two 'toString' votes: a string count, a NaN share (D1 refuses it).
    const unsound = { round: 1, tally: { toString: "function toString() { [native code] }11" }, leader: "toString", share: NaN, consensus: false, positions: [] };
    await runInDurableObject(councilStub(env as never, t, id), (_o, state) => state.storage.put("result:1", unsound));
    const question = scripted("Stored badly?", [when("alpha", null, says("toString")), when("beta", null, says("toString"))]);
    await create(t, { id, question, assistants: [persona("alpha"), persona("beta")], options: ["toString", "valueOf"], max_rounds: 1 });
    const c = await settled(t, id, 10_000);
    expect(c).toMatchObject({ status: "consensus", rounds: [{ tally: { toString: 2 }, share: 1, consensus: true }] });
    expect(await rows("SELECT share FROM council_rounds WHERE tenant_id = ? AND council_id = ?", t, id)).toEqual([{ share: 1 }]);
  });

  it("an assistant named 'constructor' gets its CIO_COUNCIL_ASSISTANT_ATTEMPTS tries before it abstains", async () => {
    const t = await tenant();
    const run = crypto.randomUUID().slice(0, 8);
    // Its first attempt fails (three HTTP calls: the client retries twice); the second answers.
    const question = scripted("Retried?", [when("constructor", null, says("YES"), { id: `${run}-constructor`, failTimes: 3, status: 503 }), when("alpha", null, says("YES"))]);
    const c = await settled(t, (await create(t, { question, assistants: [persona("constructor"), persona("alpha")], options: ["YES", "NO"], max_rounds: 1 })).id, 10_000);
    expect(c.rounds[0]!.positions.find((p) => p.assistant === "constructor")).toMatchObject({ option: "YES" });
    expect(c.rounds[0]!.positions.find((p) => p.assistant === "constructor")!.error).toBeUndefined();
    expect(c.rounds[0]).toMatchObject({ share: 1, consensus: true });
  });

  it("an assistant named 'constructor' has no evidence where the trading evidence names none for it", () => {
    const s = { maxRounds: 1, context: null, rounds: [], question: "Buy?", evidence: { "market-monitor": "[market-data] up" } } as unknown as CouncilState;
    const prompt = (id: string) => userPrompt({ id, persona: "", model: "m", baseWeight: 1, weight: 1 }, s, 1);
    expect(prompt("market-monitor")).toContain("Your evidence:\n[market-data] up");
    expect(prompt("constructor")).not.toContain("Your evidence");
  });
});
