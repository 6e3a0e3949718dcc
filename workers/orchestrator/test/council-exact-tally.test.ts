/** The vote is counted exactly: equal blocs of learned weights tie, however their floats add up. */
import { describe, expect, it } from "vitest";
import { tally } from "../../../durable-objects/council/tally.js";
import { create, DB, persona, rows, says, scripted, settled, tenant, when } from "./council-helpers.js";

const vote = (assistant: string, option: string, weight: number) => ({ assistant, option, confidence: 1, reasoning: "", round: 1, weight });

describe("an exactly counted vote", () => {
  it("0.4 + 0.8 against 1.2 is a tie, not a consensus led by a rounding error", () => {
    const r = tally(1, [vote("a", "BUY", 0.4), vote("b", "BUY", 0.8), vote("c", "SELL", 1.2)], [0.4, 0.8, 1.2], 0.5);
    expect(r).toMatchObject({ tally: { BUY: 1.2, SELL: 1.2 }, leader: null, share: 0.5, consensus: false });
  });

  it("the smallest weights a seat can have tie when equal and keep their fifth digit when not", () => {
    // 0.00001 + 0.00002 is 0.000030000000000000004 as floats.
    expect(tally(1, [vote("a", "X", 0.00001), vote("b", "X", 0.00002), vote("c", "Y", 0.00003)], [0.00001, 0.00002, 0.00003], 0.5)).toMatchObject({
      tally: { X: 0.00003, Y: 0.00003 },
      leader: null,
      consensus: false,
    });
    const close = tally(1, [vote("a", "X", 0.000012345), vote("b", "Y", 0.000012341)], [0.000012345, 0.000012341], 0.5);
    expect(close).toMatchObject({ tally: { X: 0.000012345, Y: 0.000012341 }, leader: "X", consensus: true });
  });

  it("weights of hundreds beside the largest total, twelve seats up to 1000, tie when equal", () => {
    // 560.76 + 335.17 is 895.9300000000001 as floats; nine seats of 1000 abstain, so the total is 9000 + 1791.86.
    const abstaining = Array.from({ length: 9 }, (_, i) => ({ ...vote(`s${i}`, "(abstained)", 1000), error: "no answer" }));
    const seats = [vote("a", "X", 560.76), vote("b", "X", 335.17), vote("c", "Y", 895.93), ...abstaining];
    const r = tally(1, seats, seats.map((s) => s.weight), 0.05);
    expect(r).toMatchObject({ tally: { X: 895.93, Y: 895.93 }, leader: null, share: 89_593 / 1_079_186, consensus: false });
  });

  it("assistants 0 and 1 of 3 right vote BUY, one 2 of 3 right votes SELL: half and half escalates to the human, and reads so", async () => {
    const t = await tenant();
    for (const [id, correct] of [["alpha", 0], ["beta", 1], ["gamma", 2]] as const) {
      await DB().prepare("INSERT INTO assistant_weights (tenant_id, assistant_id, correct, total) VALUES (?, ?, ?, 3)").bind(t, id, correct).run();
    }
    const question = scripted("Tie?", [when("alpha", null, says("BUY")), when("beta", null, says("BUY")), when("gamma", null, says("SELL"))]);
    const opened = await create(t, { question, assistants: [persona("alpha"), persona("beta"), persona("gamma")], options: ["BUY", "SELL"], max_rounds: 1 });
    const c = await settled(t, opened.id);
    expect(c.assistants.map((a) => a.weight)).toEqual([0.4, 0.8, 1.2]);
    expect(c).toMatchObject({ status: "awaiting_human", decision: null, rounds: [{ tally: { BUY: 1.2, SELL: 1.2 }, leader: null, share: 0.5, consensus: false }] });
    const recorded = await rows<{ tally: string }>("SELECT tally, leader, share, consensus FROM council_rounds WHERE tenant_id = ? AND council_id = ?", t, c.id);
    expect(recorded).toEqual([{ tally: '{"BUY":1.2,"SELL":1.2}', leader: null, share: 0.5, consensus: 0 }]);
  });
});
