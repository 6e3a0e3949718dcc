import { describe, expect, it } from "vitest";
import { create, ctx, orch, persona, says, scripted, settled, when } from "./council-helpers.js";
import { connect, newSession } from "./session-fixtures.js";

describe("council events in a session", () => {
  it("the session hears each round, the escalation with positions and options, and the human's decision", async () => {
    const s = await newSession();
    const c = await connect(s);
    c.send({ type: "resume", after_seq: 0 });
    const q = scripted("Left or right?", [when("alpha", null, says("LEFT")), when("beta", null, says("RIGHT"))]);
    const council = await create(s.tenantId, { question: q, assistants: [persona("alpha"), persona("beta")], options: ["LEFT", "RIGHT"], max_rounds: 1, session_id: s.sessionId });
    await settled(s.tenantId, council.id);
    const escalation = await c.waitFor((f) => f.type === "council" && (f as { status?: string }).status === "awaiting_human");
    expect(escalation).toMatchObject({ council_id: council.id, round: 1, options: ["LEFT", "RIGHT"], positions: [{ assistant: "alpha", option: "LEFT" }, { assistant: "beta", option: "RIGHT" }] });
    await orch().councils({ ...ctx(s.tenantId), action: "decide", councilId: council.id, body: { option: "LEFT" } });
    expect(await c.waitFor((f) => f.type === "council" && (f as { status?: string }).status === "decided")).toMatchObject({ council_id: council.id, decision: "LEFT" });
    const statuses = c.events().filter((f) => f.type === "council").map((f) => (f as { status?: string }).status);
    expect(statuses).toEqual(["running", "round_finished", "awaiting_human", "decided"]);
    c.close();
  });

  it("a cio/council turn over the session's socket reports its council to that session", async () => {
    const s = await newSession();
    const c = await connect(s);
    c.send({ type: "resume", after_seq: 0 });
    const q = scripted("Left or right?", ["analyst", "skeptic", "pragmatist"].map((who) => when(who, null, says("LEFT"))));
    c.send({ type: "chat", id: "t1", model: "cio/council", content: q });
    const event = await c.waitFor((f) => f.type === "council", 15_000);
    expect(event).toMatchObject({ council_id: expect.stringMatching(/^chat-/) });
    await c.waitFor((f) => f.type === "council" && (f as { status?: string }).status === "consensus", 15_000);
    c.close();
  });
});
