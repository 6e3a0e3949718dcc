import { describe, expect, it } from "vitest";
import { chat, completionOf, mockTool, newTenant, OPENAI, scripted, scriptedAi, toolCalls, uniq, user } from "./helpers.js";

const WEATHER = { type: "function", function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } } };
const CLOSES = [44.34, 44.09, 44.15, 43.61, 44.33, 44.83, 45.1, 45.42, 45.84, 46.08, 45.89, 46.03, 45.61, 46.28, 46.28];
const choose = (name: string) => ({ type: "function", function: { name } });

// A named tool_choice binds the first round to that tool: OpenAI's model calls nothing else. Workers AI is offered
// the named tool alone but may call another it saw in the conversation, and OpenAI-compatible servers may not
// honour tool_choice at all: the agent loop refuses whatever else the round calls.
describe("a round bound to a named tool_choice", () => {
  it("Workers AI calling one of our tools instead of the client's chosen one: it is not run, nor handed over", async () => {
    const tenantId = await newTenant();
    const { ai, seen } = scriptedAi([() => ({ response: null, tool_calls: [{ name: "technical-analysis", arguments: { indicator: "rsi", closes: CLOSES } }] }), () => ({ response: "done" })]);
    const reply = completionOf(await chat([user("weather in Oslo?")], { tenantId, settings: { AI: ai, CIO_PROVIDER: "workers-ai" }, body: { tools: [WEATHER], tool_choice: choose("get_weather") } }));
    expect(reply.cio.tools).toEqual([expect.objectContaining({ name: "technical-analysis", ok: false, error: expect.objectContaining({ code: "not_chosen" }) })]);
    expect(reply.choices[0]!.finish_reason).toBe("stop");
    // The model heard why; the answer names no tool as failed, since none did.
    const told = (seen[1]!.inputs.messages as { role: string; content: string }[]).find((m) => m.role === "tool")!.content;
    expect(told).toContain("tool_choice asks this round for a call to 'get_weather' alone");
    expect(reply.choices[0]!.message.content).toBe("done");
  });

  it("a model that ignores tool_choice: the chosen tool runs, another of ours does not, and a client call is not handed over", async () => {
    const tenantId = await newTenant();
    const [chosen, other, kc, ko] = [uniq("chosen"), uniq("other"), uniq("kc"), uniq("ko")];
    await mockTool(tenantId, chosen);
    await mockTool(tenantId, other);
    const calls = [{ name: chosen, arguments: { mode: "echo", key: kc } }, { name: other, arguments: { mode: "echo", key: ko } }, { name: "get_weather", arguments: { city: "Oslo" } }];
    const reply = completionOf(await chat([scripted("go", [{ tool_calls: calls }, { echoTools: true }])], { tenantId, settings: OPENAI, body: { tools: [WEATHER], tool_choice: choose(chosen) } }));
    expect([await toolCalls(kc), await toolCalls(ko)]).toEqual([1, 0]);
    expect(reply.cio.tools.map((t) => [t.name, t.error?.code])).toEqual([[chosen, undefined], [other, "not_chosen"], ["get_weather", "not_chosen"]]);
    expect(reply.choices[0]!.finish_reason).toBe("stop");
    expect(reply.choices[0]!.message.content).not.toContain("Note: the tool");
  });

  it("binds the first round only: a later round may call any tool offered", async () => {
    const tenantId = await newTenant();
    const [chosen, other, ko] = [uniq("chosen"), uniq("other"), uniq("ko")];
    await mockTool(tenantId, chosen);
    await mockTool(tenantId, other);
    const script = [{ tool_calls: [{ name: chosen, arguments: { mode: "echo" } }] }, { tool_calls: [{ name: other, arguments: { mode: "echo", key: ko } }] }, { echoTools: true }];
    const reply = completionOf(await chat([scripted("go", script)], { tenantId, settings: OPENAI, body: { tool_choice: choose(chosen) } }));
    expect(reply.cio.tools.map((t) => t.ok)).toEqual([true, true]);
    expect(await toolCalls(ko)).toBe(1);
  });
});
