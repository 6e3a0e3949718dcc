import { describe, expect, it } from "vitest";
import { chat, completionOf, mockOrigin, mockTool, newTenant, OPENAI, scripted, scriptedAi, toolCalls, uniq, user } from "./helpers.js";

const WEATHER = { type: "function", function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } } };
const TIME = { type: "function", function: { name: "get_time", parameters: { type: "object", properties: { city: { type: "string" } } } } };
const CLOSES = [44.34, 44.09, 44.15, 43.61, 44.33, 44.83, 45.1, 45.42, 45.84, 46.08, 45.89, 46.03, 45.61, 46.28, 46.28];
const ONE_AT_A_TIME = { parallel_tool_calls: false };

type Logged = { body: { messages: { role: string; tool_calls?: unknown[] }[] } };
const requests = async (id: string) => (await (await fetch(`${mockOrigin()}/__requests?id=${id}`)).json()) as Logged[];

// OpenAI promises at most one tool call per answer when parallel_tool_calls is false; the models behind
// cio/auto do not all keep that promise, so the agent loop keeps it for them.
describe("parallel_tool_calls: false", () => {
  it("a model that asks for two of our tools at once has the first run, and asks for the other in the next round", async () => {
    const tenantId = await newTenant();
    const [a, b, ka, kb, id] = [uniq("first"), uniq("second"), uniq("ka"), uniq("kb"), uniq("one-at-a-time")];
    await mockTool(tenantId, a);
    await mockTool(tenantId, b);
    const [callA, callB] = [{ name: a, arguments: { mode: "echo", key: ka } }, { name: b, arguments: { mode: "echo", key: kb } }];
    const script = [{ tool_calls: [callA, callB] }, { tool_calls: [callB] }, { echoTools: true }];
    const reply = completionOf(await chat([scripted("go", script, id)], { tenantId, settings: OPENAI, body: ONE_AT_A_TIME }));
    expect(reply.cio.tools.map((t) => t.name)).toEqual([a, b]);
    expect([await toolCalls(ka), await toolCalls(kb)]).toEqual([1, 1]);
    expect(reply.cio.steps).toBe(3);
    // What the model read last: one call per answer of its own, each with its result (a call left unanswered
    // would make an OpenAI-compatible upstream refuse the conversation).
    const read = (await requests(id)).at(-1)!.body.messages;
    expect(read.filter((m) => m.role === "assistant").map((m) => m.tool_calls?.length)).toEqual([1, 1]);
    expect(read.filter((m) => m.role === "tool")).toHaveLength(2);
  });

  it("Workers AI, which takes no parallel_tool_calls, answering two client calls: the client gets the first alone", async () => {
    const tenantId = await newTenant();
    const { ai } = scriptedAi([() => ({ response: null, tool_calls: [{ name: "get_weather", arguments: { city: "Oslo" } }, { name: "get_time", arguments: { city: "Oslo" } }] })]);
    const reply = completionOf(await chat([user("weather and time in Oslo?")], { tenantId, settings: { AI: ai, CIO_PROVIDER: "workers-ai" }, body: { tools: [WEATHER, TIME], ...ONE_AT_A_TIME } }));
    expect(reply.choices[0]!.finish_reason).toBe("tool_calls");
    expect(reply.choices[0]!.message.tool_calls!.map((c) => c.function.name)).toEqual(["get_weather"]);
  });

  it("a client call followed by a call of ours: ours is not run while the client's goes back", async () => {
    const tenantId = await newTenant();
    const { ai } = scriptedAi([() => ({ response: null, tool_calls: [{ name: "get_weather", arguments: { city: "Oslo" } }, { name: "technical-analysis", arguments: { indicator: "rsi", closes: CLOSES } }] })]);
    const reply = completionOf(await chat([user("weather and RSI?")], { tenantId, settings: { AI: ai, CIO_PROVIDER: "workers-ai" }, body: { tools: [WEATHER], ...ONE_AT_A_TIME } }));
    expect(reply.choices[0]!.message.tool_calls!.map((c) => c.function.name)).toEqual(["get_weather"]);
    expect(reply.cio.tools).toEqual([]);
  });
});
