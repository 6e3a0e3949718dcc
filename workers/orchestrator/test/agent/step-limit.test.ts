import { describe, expect, it } from "vitest";
import { chat, completionOf, mockTool, newTenant, OPENAI, scripted, scriptedAi, uniq, user } from "./helpers.js";

const CLOSES = [44.34, 44.09, 44.15, 43.61, 44.33, 44.83, 45.1, 45.42, 45.84, 46.08, 45.89, 46.03, 45.61, 46.28, 46.28];
const TWO_STEPS = { CIO_MAX_STEPS: "2" };

// The last of CIO_MAX_STEPS rounds offers none of our tools, so the answer ends there. A model that calls one
// anyway (it saw them in the rounds before) stopped at the limit: the tool neither failed nor went missing.
describe("an answer that reaches CIO_MAX_STEPS", () => {
  it("a call the last round makes is refused as step_limit, and the answer names the limit, not a failed tool", async () => {
    const tenantId = await newTenant();
    const name = uniq("again");
    await mockTool(tenantId, name);
    const reply = completionOf(await chat([scripted("forever", [{ tool_calls: [{ name, arguments: { mode: "echo" } }] }])], { tenantId, settings: { ...OPENAI, ...TWO_STEPS } }));
    expect(reply.cio.tools.map((t) => [t.name, t.ok, t.error?.code])).toEqual([[name, true, undefined], [name, false, "step_limit"]]);
    expect(reply.choices[0]!.finish_reason).toBe("length");
    expect(reply.choices[0]!.message.content).toBe("I could not finish this answer within its limit of 2 steps (model rounds).");
  });

  it("after text the model wrote on the way, the answer says it stopped at the limit", async () => {
    const tenantId = await newTenant();
    const call = { name: "technical-analysis", arguments: { indicator: "rsi", closes: CLOSES } };
    const { ai } = scriptedAi([() => ({ response: "Let me look.", tool_calls: [call] }), () => ({ response: null, tool_calls: [call] })]);
    const reply = completionOf(await chat([user("RSI?")], { tenantId, settings: { AI: ai, CIO_PROVIDER: "workers-ai", ...TWO_STEPS } }));
    expect(reply.choices[0]!.message.content).toBe("Let me look.\n\nNote: this answer stopped at its limit of 2 steps (model rounds) before it was finished.");
  });

  it("a tool that did fail on the way is still named, and the limit's refusal is not", async () => {
    const tenantId = await newTenant();
    const name = uniq("failing");
    await mockTool(tenantId, name);
    const reply = completionOf(await chat([scripted("forever", [{ tool_calls: [{ name, arguments: { mode: "fail", code: "boom" } }] }])], { tenantId, settings: { ...OPENAI, ...TWO_STEPS } }));
    expect(reply.cio.tools.map((t) => t.error?.code)).toEqual(["boom", "step_limit"]);
    expect(reply.choices[0]!.message.content).toBe(`I could not finish this answer within its limit of 2 steps (model rounds).\n\nNote: the tool ${name} (boom) failed, so this answer was given without it.`);
  });
});
