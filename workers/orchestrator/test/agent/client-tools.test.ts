import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import type { ChatMessage } from "../../../../lib/protocol/index.js";
import { chat, completionOf, mockOrigin, newTenant, OPENAI, scripted, streamText } from "./helpers.js";

const WEATHER = { type: "function" as const, function: { name: "get_weather", description: "Weather in a city", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } } };

describe("client tools", () => {
  it("a call to a client tool goes back as tool_calls, and the follow-up with role tool continues the loop", async () => {
    const tenantId = await newTenant();
    const first = scripted("weather in Paris?", [{ tool_calls: [{ name: "get_weather", arguments: { city: "Paris" } }] }, { echoTools: true }]);
    const r1 = completionOf(await chat([first], { tenantId, settings: OPENAI, body: { tools: [WEATHER] } }));
    expect(r1.choices[0]!.finish_reason).toBe("tool_calls");
    // OpenAI's nulls, which typed clients read as present fields.
    expect(r1.choices[0]).toMatchObject({ logprobs: null, message: { refusal: null } });
    const call = r1.choices[0]!.message.tool_calls![0]!;
    expect(call).toMatchObject({ type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } });
    expect(call.id).toBeTruthy();

    const history: ChatMessage[] = [first, { role: "assistant", content: null, tool_calls: [call] }, { role: "tool", tool_call_id: call.id, content: "18 °C and sunny" }];
    const r2 = completionOf(await chat(history, { tenantId, settings: OPENAI, body: { tools: [WEATHER] } }));
    expect(r2.choices[0]!.finish_reason).toBe("stop");
    expect(r2.choices[0]!.message.content).toBe("18 °C and sunny");
    expect(r2.choices[0]).toMatchObject({ logprobs: null, message: { refusal: null } });
  });

  it("our tool results from a turn that paused on a client tool are back in the model's view on the follow-up", async () => {
    const tenantId = await newTenant();
    const closes = [44.34, 44.09, 44.15, 43.61, 44.33, 44.83, 45.1, 45.42, 45.84, 46.08, 45.89, 46.03, 45.61, 46.28, 46.28];
    const first = scripted("RSI and the weather", [{ tool_calls: [{ name: "technical-analysis", arguments: { indicator: "rsi", closes } }, { name: "get_weather", arguments: { city: "Paris" } }] }, { echoTools: true }]);
    const r1 = completionOf(await chat([first], { tenantId, settings: OPENAI, body: { tools: [WEATHER] } }));
    expect(r1.choices[0]!.finish_reason).toBe("tool_calls");
    const calls = r1.choices[0]!.message.tool_calls!;
    expect(calls.map((c) => c.function.name)).toEqual(["get_weather"]);
    expect(r1.cio.tools.map((t) => t.name)).toEqual(["technical-analysis"]);

    const followUp = (id: string): ChatMessage[] => [first, { role: "assistant", content: null, tool_calls: calls }, { role: "tool", tool_call_id: id, content: "18 °C and sunny" }];
    const r2 = completionOf(await chat(followUp(calls[0]!.id), { tenantId, settings: OPENAI, body: { tools: [WEATHER] } }));
    expect(r2.choices[0]!.message.content).toMatch(/^RSI\(14\) = 70\.\d+.* \| 18 °C and sunny$/s);
    expect(r2.cio.tools).toEqual([]); // put back, not run again

    // Another tenant echoing the same call id gets nothing of it.
    const r3 = completionOf(await chat(followUp(calls[0]!.id), { tenantId: await newTenant(), settings: OPENAI, body: { tools: [WEATHER] } }));
    expect(r3.choices[0]!.message.content).toBe("18 °C and sunny");
  });

  it("two conversations paused on the same call id (a server that numbers its calls) each get their own turn back", async () => {
    const tenantId = await newTenant();
    const closes = [44.34, 44.09, 44.15, 43.61, 44.33, 44.83, 45.1, 45.42, 45.84, 46.08, 45.89, 46.03, 45.61, 46.28, 46.28];
    const paused = async (indicator: string, city: string) => {
      const id = "functions.get_weather:0"; // sglang's and vLLM's numbering for Kimi K2: the same in every conversation
      const ask = scripted(`${indicator} and the weather in ${city}`, [{ tool_calls: [{ name: "technical-analysis", arguments: { indicator, period: 5, closes } }, { name: "get_weather", arguments: { city }, id }] }, { echoTools: true }]);
      const r = completionOf(await chat([ask], { tenantId, settings: OPENAI, body: { tools: [WEATHER] } }));
      return { ask, calls: r.choices[0]!.message.tool_calls! };
    };
    const a = await paused("rsi", "Oslo");
    const b = await paused("sma", "Paris");
    expect([a.calls[0]!.id, b.calls[0]!.id]).toEqual(["functions.get_weather:0", "functions.get_weather:0"]);
    const followUp = async (c: typeof a, weather: string) =>
      completionOf(await chat([c.ask, { role: "assistant", content: null, tool_calls: c.calls }, { role: "tool", tool_call_id: c.calls[0]!.id, content: weather }], { tenantId, settings: OPENAI, body: { tools: [WEATHER] } })).choices[0]!.message.content;
    expect(await followUp(a, "3 °C")).toMatch(/^RSI\(5\) = [\d.]+.* \| 3 °C$/s);
    expect(await followUp(b, "18 °C")).toMatch(/^SMA\(5\) = [\d.]+.* \| 18 °C$/s);
  });

  it("a turn with rounds of our tools before the client call is restored round by round", async () => {
    const tenantId = await newTenant();
    const closes = [44.34, 44.09, 44.15, 43.61, 44.33, 44.83, 45.1, 45.42, 45.84, 46.08, 45.89, 46.03, 45.61, 46.28, 46.28];
    const id = `rounds-${crypto.randomUUID().slice(0, 8)}`;
    const first = scripted("RSI, then the weather", [{ tool_calls: [{ name: "technical-analysis", arguments: { indicator: "rsi", closes } }] }, { tool_calls: [{ name: "get_weather", arguments: { city: "Paris" } }] }, { echoTools: true }], id);
    const r1 = completionOf(await chat([first], { tenantId, settings: OPENAI, body: { tools: [WEATHER] } }));
    const call = r1.choices[0]!.message.tool_calls![0]!;
    const r2 = completionOf(await chat([first, { role: "assistant", content: null, tool_calls: [call] }, { role: "tool", tool_call_id: call.id, content: "18 °C" }], { tenantId, settings: OPENAI, body: { tools: [WEATHER] } }));
    expect(r2.choices[0]!.message.content).toMatch(/^RSI\(14\) = 70\.\d+.* \| 18 °C$/s);
    const logged = (await (await fetch(`${mockOrigin()}/__requests?id=${id}`)).json()) as { body: { messages: ChatMessage[] } }[];
    const roles = logged.at(-1)!.body.messages.map((m) => m.role);
    expect(roles).toEqual(["system", "user", "assistant", "tool", "assistant", "tool"]);
  });

  it("streams client tool calls with index, id, type and function.name in the first delta of each call", async () => {
    const tenantId = await newTenant();
    const msg = scripted("two cities", [{ tool_calls: [{ name: "get_weather", arguments: { city: "Paris" } }, { name: "get_weather", arguments: { city: "Rome" } }] }]);
    const body = await streamText(await chat([msg], { tenantId, settings: OPENAI, body: { tools: [WEATHER], stream: true } }));
    const chunks = body.split("\n\n").filter((b) => b.startsWith("data: {")).map((b) => JSON.parse(b.slice(6)));
    const deltas = chunks.flatMap((c) => c.choices[0]?.delta?.tool_calls ?? []);
    for (const index of [0, 1]) {
      const first = deltas.find((d) => d.index === index);
      expect(first).toMatchObject({ index, type: "function", function: { name: "get_weather" } });
      expect(first.id).toMatch(/^call_/);
      expect(deltas.filter((d) => d.index === index).map((d) => d.function.arguments).join("")).toBe(JSON.stringify({ city: index ? "Rome" : "Paris" }));
    }
    expect(chunks.find((c) => c.choices[0]?.finish_reason)?.choices[0].finish_reason).toBe("tool_calls");
    for (const c of chunks.filter((c) => c.choices.length)) expect(c.choices[0].logprobs).toBeNull();
  });
});

describe("read by the openai SDK", () => {
  /** The SDK talks to the orchestrator's chat entry through a fetch that hands it the call. */
  const sdk = (tenantId: string) =>
    new OpenAI({
      apiKey: "unused",
      baseURL: "https://cio.test/v1",
      maxRetries: 0,
      fetch: async (_url, init) => {
        const body = JSON.parse(String(init!.body));
        const reply = await chat(body.messages, { tenantId, settings: OPENAI, body });
        if (reply.kind === "stream") return new Response(reply.body, { headers: { "content-type": "text/event-stream" } });
        if (reply.kind === "json") return Response.json(reply.completion);
        return Response.json({ error: reply.error.error }, { status: reply.error.status });
      },
    });

  it("a tool-using streamed answer", async () => {
    const tenantId = await newTenant();
    const closes = [44.34, 44.09, 44.15, 43.61, 44.33, 44.83, 45.1, 45.42, 45.84, 46.08, 45.89, 46.03, 45.61, 46.28, 46.28];
    const stream = await sdk(tenantId).chat.completions.create({
      model: "cio/auto",
      stream: true,
      stream_options: { include_usage: true },
      messages: [scripted("RSI please", [{ tool_calls: [{ name: "technical-analysis", arguments: { indicator: "rsi", closes } }] }, { echoTools: true }]) as never],
    });
    let text = "";
    const chunks = [];
    for await (const c of stream) {
      chunks.push(c);
      text += c.choices[0]?.delta.content ?? "";
    }
    expect(text).toMatch(/^RSI\(14\) = 70\.\d+ \(overbought\)/);
    const last = chunks.at(-1) as unknown as { usage: { total_tokens: number }; cio: { tools: { name: string; ok: boolean; latency_ms: number }[] } };
    expect(last.usage.total_tokens).toBeGreaterThan(0);
    expect(last.cio.tools).toEqual([expect.objectContaining({ name: "technical-analysis", ok: true, latency_ms: expect.any(Number) })]);
  });
});

describe("OpenAI parameters passed to an OpenAI-compatible model", () => {
  it("user and reasoning_effort always; parallel_tool_calls only on a round that offers tools (OpenAI refuses it without)", async () => {
    const tenantId = await newTenant();
    const id = `params-${crypto.randomUUID().slice(0, 8)}`;
    const msg = scripted("weather?", [{ tool_calls: [{ name: "get_weather", arguments: { city: "Paris" } }] }], id);
    completionOf(await chat([msg], { tenantId, settings: OPENAI, body: { tools: [WEATHER], user: "end-user-42", parallel_tool_calls: false, reasoning_effort: "low" } }));
    const noTools = `params-none-${crypto.randomUUID().slice(0, 8)}`;
    completionOf(await chat([scripted("hi", [{ text: "plain" }], noTools)], { tenantId, settings: OPENAI, body: { tools: [WEATHER], tool_choice: "none", user: "end-user-42", parallel_tool_calls: false } }));
    type Logged = { body: Record<string, unknown> }[];
    const [withTools] = (await (await fetch(`${mockOrigin()}/__requests?id=${id}`)).json()) as Logged;
    expect(withTools!.body).toMatchObject({ user: "end-user-42", parallel_tool_calls: false, reasoning_effort: "low" });
    const [without] = (await (await fetch(`${mockOrigin()}/__requests?id=${noTools}`)).json()) as Logged;
    expect(without!.body).toMatchObject({ user: "end-user-42" });
    expect(without!.body).not.toHaveProperty("parallel_tool_calls");
    expect(without!.body).not.toHaveProperty("tools");
  });
});

describe("tool_choice", () => {
  it('"none" offers no tools at all, ours or the client\'s', async () => {
    const tenantId = await newTenant();
    const id = `none-${crypto.randomUUID().slice(0, 8)}`;
    const reply = completionOf(await chat([scripted("hi", [{ text: "plain answer" }], id)], { tenantId, settings: OPENAI, body: { tools: [WEATHER], tool_choice: "none" } }));
    expect(reply.choices[0]!.message.content).toBe("plain answer");
    const [logged] = (await (await fetch(`${mockOrigin()}/__requests?id=${id}`)).json()) as { body: { tools?: unknown[] } }[];
    expect(logged!.body.tools).toBeUndefined();
  });

  it("a named function or \"required\" binds the first round, not the rounds after our tools answered", async () => {
    const tenantId = await newTenant();
    const forced = { type: "function", function: { name: "get_weather" } };
    for (const choice of [forced, "required"]) {
      const id = `forced-${crypto.randomUUID().slice(0, 8)}`;
      const script = [{ tool_calls: [{ name: "get_weather", arguments: { city: "Oslo" } }] }];
      const reply = completionOf(await chat([scripted("weather?", script, id)], { tenantId, settings: OPENAI, body: { tools: [WEATHER], tool_choice: choice } }));
      expect(reply.choices[0]!.finish_reason).toBe("tool_calls");
      const [logged] = (await (await fetch(`${mockOrigin()}/__requests?id=${id}`)).json()) as { body: { tool_choice?: unknown } }[];
      expect(logged!.body.tool_choice).toEqual(choice);
    }
    // After our own tool ran, the model answers with what it gave: the choice is not forced again.
    const id = `again-${crypto.randomUUID().slice(0, 8)}`;
    const script = [{ tool_calls: [{ name: "technical-analysis", arguments: { indicator: "sma", period: 2, closes: [1, 2, 3] } }] }, { echoTools: true }];
    const reply = completionOf(await chat([scripted("sma?", script, id)], { tenantId, settings: OPENAI, body: { tool_choice: "required" } }));
    expect(reply.choices[0]!.message.content).toMatch(/SMA\(2\)/);
    const rounds = (await (await fetch(`${mockOrigin()}/__requests?id=${id}`)).json()) as { body: { tool_choice?: unknown } }[];
    expect(rounds.map((r) => r.body.tool_choice)).toEqual(["required", undefined]);
  });

  it("a named function that is not among the tools is a 400 on tool_choice", async () => {
    const tenantId = await newTenant();
    const reply = await chat([{ role: "user", content: "hi" }], { tenantId, settings: OPENAI, body: { tools: [WEATHER], tool_choice: { type: "function", function: { name: "nope" } } } });
    expect(reply).toMatchObject({ kind: "error", error: { status: 400, error: { param: "tool_choice", message: "tool_choice names 'nope', which is not among the tools." } } });
  });

  it("allowed_tools offers only the listed tools, ours or the client's, in every round; mode required forces the first round's call", async () => {
    const tenantId = await newTenant();
    const TIME = { type: "function" as const, function: { name: "get_time", parameters: { type: "object" } } };
    const only = (...names: string[]) => names.map((name) => ({ type: "function", function: { name } }));
    const sent = async (mode: string, names: string[]) => {
      const id = `allowed-${crypto.randomUUID().slice(0, 8)}`;
      const script = [{ tool_calls: [{ name: "technical-analysis", arguments: { indicator: "sma", period: 2, closes: [1, 2, 3] } }] }, { text: "done" }];
      const tool_choice = { type: "allowed_tools", allowed_tools: { mode, tools: only(...names) } };
      completionOf(await chat([scripted("sma?", script, id)], { tenantId, settings: OPENAI, body: { tools: [WEATHER, TIME], tool_choice } }));
      const rounds = (await (await fetch(`${mockOrigin()}/__requests?id=${id}`)).json()) as { body: { tools?: { function: { name: string } }[]; tool_choice?: unknown } }[];
      return rounds.map((r) => ({ tools: r.body.tools?.map((t) => t.function.name), tool_choice: r.body.tool_choice }));
    };
    expect(await sent("required", ["technical-analysis", "get_time"])).toEqual([
      { tools: ["technical-analysis", "get_time"], tool_choice: "required" },
      { tools: ["technical-analysis", "get_time"], tool_choice: undefined },
    ]);
    expect((await sent("auto", ["get_weather"]))[0]).toEqual({ tools: ["get_weather"], tool_choice: undefined });
  });

  it("allowed_tools naming a tool that is not offered, or a custom tool, is a 400 naming the entry, and asks nothing of the model", async () => {
    const tenantId = await newTenant();
    const ask = (tool_choice: unknown) => chat([{ role: "user", content: "hi" }], { tenantId, settings: OPENAI, body: { tools: [WEATHER], tool_choice } });
    const allowed = (mode: string, tools: unknown[]) => ({ type: "allowed_tools", allowed_tools: { mode, tools } });
    expect(await ask(allowed("auto", [{ type: "function", function: { name: "get_weather" } }, { type: "function", function: { name: "nope" } }]))).toMatchObject({
      kind: "error",
      error: { status: 400, error: { param: "tool_choice.allowed_tools.tools[1]", message: "tool_choice.allowed_tools.tools[1] names 'nope', which is not among the tools." } },
    });
    expect(await ask(allowed("required", []))).toMatchObject({ kind: "error", error: { status: 400, error: { param: "tool_choice.allowed_tools.tools" } } });
    expect(await ask({ type: "custom", custom: { name: "code_exec" } })).toMatchObject({ kind: "error", error: { status: 400, error: { code: "unsupported_tool_type", param: "tool_choice.type" } } });
  });
});
