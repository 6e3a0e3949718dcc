import { describe, expect, it } from "vitest";
import { readRound } from "../../src/providers/openai-compatible/provider.js";
import { workersAiProvider, type AiBinding } from "../../src/providers/workers-ai/index.js";
import { withDirective } from "../../../../test/mock-upstream/directive.js";
import { chat, completionOf, mockOrigin, mockTool, newTenant, OPENAI, scriptedAi, uniq, user } from "./helpers.js";

const CLOSES = [44.34, 44.09, 44.15, 43.61, 44.33, 44.83, 45.1, 45.42, 45.84, 46.08, 45.89, 46.03, 45.61, 46.28, 46.28];

const lastToolMessage = (inputs: Record<string, unknown>) => (inputs.messages as { role: string; content: string }[]).filter((m) => m.role === "tool").at(-1)?.content;

describe("model providers", () => {
  it("auto picks Workers AI when the AI binding exists; its function calls drive the tools", async () => {
    const tenantId = await newTenant();
    const { ai, seen } = scriptedAi([
      () => ({ response: null, tool_calls: [{ name: "technical-analysis", arguments: { indicator: "rsi", closes: CLOSES } }] }),
      (inputs) => ({ response: `Here it is: ${lastToolMessage(inputs)}`, usage: { prompt_tokens: 50, completion_tokens: 9, total_tokens: 59 } }),
    ]);
    const reply = completionOf(await chat([user("RSI of my closes?")], { tenantId, settings: { AI: ai, CIO_PROVIDER: "auto", CIO_WORKERS_AI_MODEL: "@cf/test/fn-model" } }));
    expect(reply.cio).toMatchObject({ provider: "workers-ai", steps: 2 });
    expect(reply.choices[0]!.message.content).toMatch(/^Here it is: RSI\(14\) = 70\.\d+/);
    expect(seen[0]!.model).toBe("@cf/test/fn-model");
    const offered = seen[0]!.inputs.tools as { name: string; description: string; parameters: { type: string } }[];
    expect(offered.find((t) => t.name === "technical-analysis")).toMatchObject({ parameters: { type: "object" } });
    expect(seen[1]!.inputs.tools).toBeDefined();
    // The second round's reported 59, and the first round's (which reported none) estimated on top.
    expect(reply.usage!.total_tokens).toBeGreaterThan(59);
  });

  it("estimates each round a provider reports no usage for from what the model read, tool schemas and results included", async () => {
    const tenantId = await newTenant();
    const { ai, seen } = scriptedAi([
      () => ({ response: null, tool_calls: [{ name: "technical-analysis", arguments: { indicator: "rsi", closes: CLOSES } }] }),
      (inputs) => ({ response: `Here it is: ${lastToolMessage(inputs)}` }),
    ]);
    const reply = completionOf(await chat([user("RSI of my closes?")], { tenantId, settings: { AI: ai, CIO_PROVIDER: "workers-ai" } }));
    // Both rounds read every offered tool's schema: the estimate counts them (4 characters a token), where it
    // once counted only the client's question and the final text (5 prompt tokens here).
    const schemaTokens = seen.reduce((n, s) => n + JSON.stringify(s.inputs.tools).length / 4, 0);
    expect(reply.usage!.prompt_tokens).toBeGreaterThan(schemaTokens / 2);
    expect(reply.usage!.completion_tokens).toBeGreaterThan(10);
  });

  it("estimates a later round's prompt with the arguments of the calls the earlier rounds made", async () => {
    const tenantId = await newTenant();
    const name = uniq("args");
    await mockTool(tenantId, name);
    const promptTokens = async (key: string) => {
      const script = [{ tool_calls: [{ name, arguments: { mode: "big", n: 10, key } }] }, { text: "done" }];
      return completionOf(await chat([user(withDirective("go", { script, noUsage: true }))], { tenantId, settings: OPENAI })).usage!.prompt_tokens;
    };
    // 4000 characters more of arguments: the script in the user message holds them, read by both rounds (about
    // 2000 tokens), and the second round reads the first's call too (about 1000 more, which went uncounted).
    expect((await promptTokens("k".repeat(4000))) - (await promptTokens("k"))).toBeGreaterThan(2900);
  });

  it("understands Workers AI models that answer in OpenAI's shape", async () => {
    const tenantId = await newTenant();
    const { ai } = scriptedAi([
      () => ({ choices: [{ message: { content: null, tool_calls: [{ id: "c1", function: { name: "technical-analysis", arguments: JSON.stringify({ indicator: "sma", period: 5, closes: CLOSES }) } }] } }] }),
      (inputs) => ({ choices: [{ message: { content: `${lastToolMessage(inputs)}` } }] }),
    ]);
    const reply = completionOf(await chat([user("SMA?")], { tenantId, settings: { AI: ai, CIO_PROVIDER: "workers-ai" } }));
    expect(reply.choices[0]!.message.content).toMatch(/^SMA\(5\) = 46\.\d+/);
  });

  it("Workers AI under a forced tool_choice: only the bound tool is offered, and an answer in text instead is an error, not prose", async () => {
    const tenantId = await newTenant();
    const settings = { AI: undefined as unknown as AiBinding, CIO_PROVIDER: "workers-ai" };
    const body = { tool_choice: { type: "function", function: { name: "technical-analysis" } } };
    const called = scriptedAi([
      () => ({ response: null, tool_calls: [{ name: "technical-analysis", arguments: { indicator: "sma", period: 5, closes: CLOSES } }] }),
      (inputs) => ({ response: `${lastToolMessage(inputs)}` }),
    ]);
    const reply = completionOf(await chat([user("SMA?")], { tenantId, settings: { ...settings, AI: called.ai }, body }));
    expect(reply.choices[0]!.message.content).toMatch(/^SMA\(5\) = 46\.\d+/);
    expect((called.seen[0]!.inputs.tools as { name: string }[]).map((t) => t.name)).toEqual(["technical-analysis"]);
    expect((called.seen[1]!.inputs.tools as unknown[]).length).toBeGreaterThan(1); // bound for the first round only

    const prose = scriptedAi([() => ({ response: "I would rather just tell you." })]);
    const refused = await chat([user("SMA?")], { tenantId, settings: { ...settings, AI: prose.ai }, body });
    expect(refused).toMatchObject({ kind: "error", error: { status: 502, error: { code: "tool_choice_not_met", message: expect.stringContaining("'technical-analysis'") } } });
  });

  it("an image, audio or file part is refused on Workers AI (text only) rather than dropped, naming the part", async () => {
    const tenantId = await newTenant();
    const { ai, seen } = scriptedAi([() => ({ response: "A cat, surely." })]);
    const picture = { role: "user" as const, content: [{ type: "text", text: "What is in this picture?" }, { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } }] };
    const reply = await chat([user("hello"), picture], { tenantId, settings: { AI: ai, CIO_PROVIDER: "workers-ai" } });
    expect(reply).toMatchObject({ kind: "error", error: { status: 400, error: { code: "unsupported_content", param: "messages[1].content[1].type", message: expect.stringContaining("image_url") } } });
    expect(seen).toHaveLength(0);
    // Text parts alone are fine.
    const text = { role: "user" as const, content: [{ type: "text", text: "Just text." }] };
    expect(completionOf(await chat([text], { tenantId, settings: { AI: ai, CIO_PROVIDER: "workers-ai" } })).choices[0]!.message.content).toBe("A cat, surely.");
  });

  it("a Workers AI failure is an upstream error in OpenAI's shape", async () => {
    const tenantId = await newTenant();
    const ai: AiBinding = { run: async () => { throw new Error("capacity exceeded"); } };
    const reply = await chat([user("hi")], { tenantId, settings: { AI: ai, CIO_PROVIDER: "workers-ai" } });
    expect(reply).toMatchObject({ kind: "error", error: { status: 502, error: { type: "upstream_error", message: expect.stringContaining("capacity exceeded") } } });
  });

  it("asking for workers-ai without the binding is a clear configuration error", async () => {
    const tenantId = await newTenant();
    const reply = await chat([user("hi")], { tenantId, settings: { CIO_PROVIDER: "workers-ai" } });
    expect(reply).toMatchObject({ kind: "error", error: { status: 500, error: { code: "provider_unavailable" } } });
  });

  it("auto falls back to the upstream when one is configured, and to builtin when nothing is", async () => {
    const tenantId = await newTenant();
    const upstream = completionOf(await chat([user("hi MOCK:{\"text\":\"from the mock\"}")], { tenantId, settings: { CIO_PROVIDER: "auto" } }));
    expect(upstream.cio.provider).toBe("openai");
    expect(upstream.choices[0]!.message.content).toBe("from the mock");
    const offline = completionOf(await chat([user("hi")], { tenantId, settings: { CIO_PROVIDER: "auto", CIO_UPSTREAM_BASE_URL: "" } }));
    expect(offline.cio.provider).toBe("builtin");
  });

  it("an OpenAI-compatible stream that closes unfinished (no finish_reason, no [DONE]) fails the round", async () => {
    const sse = (...chunks: object[]) => new Response(chunks.map((c) => `data: ${JSON.stringify(c)}\n\n`).join("")).body!;
    const call = (args: string, finish: string | null) => ({ choices: [{ index: 0, delta: { tool_calls: [{ index: 0, id: "c1", function: { name: "t", arguments: args } }] }, finish_reason: finish }] });
    const read = async (body: ReadableStream<Uint8Array>) => {
      const events = [];
      for await (const ev of readRound(body)) events.push(ev);
      return events;
    };
    // Half of a tool call's arguments must not run as if they were whole.
    await expect(read(sse(call('{"indicator": "r', null)))).rejects.toThrow(/ended before the answer finished/);
    expect(await read(sse(call('{"a": 1}', "tool_calls")))).toEqual([{ type: "tool_call", call: { id: "c1", name: "t", arguments: '{"a": 1}' } }, { type: "finish", reason: "tool_calls" }]);
  });

  describe("readRound puts a streamed round back together", () => {
    const sse = (...chunks: object[]) => new Response([...chunks.map((c) => `data: ${JSON.stringify(c)}\n\n`), "data: [DONE]\n\n"].join("")).body!;
    const deltas = (tool_calls: object[], finish: string | null = null) => ({ choices: [{ index: 0, delta: { tool_calls }, finish_reason: finish }] });
    const read = async (body: ReadableStream<Uint8Array>) => {
      const events = [];
      for await (const ev of readRound(body)) events.push(ev);
      return events;
    };
    const callsOf = async (body: ReadableStream<Uint8Array>) => (await read(body)).flatMap((e) => (e.type === "tool_call" ? [e.call] : []));
    const PARIS_ROME = [{ id: "a", name: "get_weather", arguments: '{"city":"Paris"}' }, { id: "b", name: "get_weather", arguments: '{"city":"Rome"}' }];

    it("parallel calls that all say index 0 (Ollama) stay apart by their ids", async () => {
      const body = sse(
        deltas([{ index: 0, id: "a", function: { name: "get_weather", arguments: '{"city":' } }]),
        deltas([{ index: 0, function: { arguments: '"Paris"}' } }]),
        deltas([{ index: 0, id: "b", function: { name: "get_weather", arguments: '{"city":"Rome"}' } }], "tool_calls"),
      );
      expect(await callsOf(body)).toEqual(PARIS_ROME);
    });

    it("deltas without an index continue the last call unless they bring a new id", async () => {
      const body = sse(
        deltas([{ id: "a", function: { name: "get_weather", arguments: '{"city":' } }]),
        deltas([{ function: { arguments: '"Paris"}' } }]),
        deltas([{ id: "b", function: { name: "get_weather" } }]),
        deltas([{ function: { arguments: '{"city":"Rome"}' } }], "tool_calls"),
      );
      expect(await callsOf(body)).toEqual(PARIS_ROME);
    });

    it("usage sent cumulatively on every chunk counts once, as its last value", async () => {
      const text = (content: string, total: number, finish: string | null = null) => ({ choices: [{ index: 0, delta: { content }, finish_reason: finish }], usage: { prompt_tokens: 10, completion_tokens: total, total_tokens: 10 + total } });
      const events = await read(sse(text("one ", 1), text("two ", 2), text("three", 3, "length")));
      expect(events.filter((e) => e.type === "usage")).toEqual([{ type: "usage", usage: { prompt_tokens: 10, completion_tokens: 3, total_tokens: 13 } }]);
      expect(events.at(-1)).toEqual({ type: "finish", reason: "length" });
    });
  });

  it("passes the client's sampling and format parameters on, under the client's own names", async () => {
    const tenantId = await newTenant();
    const id = crypto.randomUUID();
    const params = { max_completion_tokens: 50, stop: ["END"], presence_penalty: 0.5, frequency_penalty: 0.25, response_format: { type: "json_object" }, top_p: 0.9 };
    completionOf(await chat([user(withDirective("json please", { id, text: "{}" }))], { tenantId, settings: OPENAI, body: { ...params, temperature: null } }));
    const [logged] = (await (await fetch(`${mockOrigin()}/__requests?id=${id}`)).json()) as { body: Record<string, unknown> }[];
    // Reasoning models refuse max_tokens: a client that sent max_completion_tokens must not be turned into one.
    expect(logged!.body).toMatchObject(params);
    expect(logged!.body).not.toHaveProperty("max_tokens");
    expect(logged!.body).not.toHaveProperty("temperature");

    const { ai, seen } = scriptedAi([() => ({ response: "ok" })]);
    await chat([user("hi")], { tenantId, settings: { AI: ai, CIO_PROVIDER: "workers-ai" }, body: { ...params, user: "end-user-42", parallel_tool_calls: false, reasoning_effort: "low" } });
    expect(seen[0]!.inputs).toMatchObject({ max_tokens: 50, presence_penalty: 0.5, frequency_penalty: 0.25, response_format: { type: "json_object" }, top_p: 0.9 });
    // OpenAI's own parameters stay out of Workers AI's inputs.
    for (const k of ["stop", "user", "parallel_tool_calls", "reasoning_effort"]) expect(seen[0]!.inputs).not.toHaveProperty(k);
  });

  it("Workers AI's JSON mode: the schema goes in Workers AI's shape, and the object it answers comes back as text", async () => {
    const tenantId = await newTenant();
    const schema = { type: "object", properties: { capital: { type: "string" } }, required: ["capital"] };
    const { ai, seen } = scriptedAi([() => ({ response: { capital: "New Delhi" } })]);
    const body = { response_format: { type: "json_schema", json_schema: { name: "country", schema, strict: true } } };
    const reply = completionOf(await chat([user("India?")], { tenantId, settings: { AI: ai, CIO_PROVIDER: "workers-ai" }, body }));
    expect(seen[0]!.inputs.response_format).toEqual({ type: "json_schema", json_schema: schema });
    expect(JSON.parse(reply.choices[0]!.message.content!)).toEqual({ capital: "New Delhi" });
  });

  it("a Workers AI call that hangs stops when the round is aborted (a council deadline, a client gone)", async () => {
    const ai: AiBinding = { run: () => new Promise(() => {}) };
    const round = workersAiProvider(ai, "@cf/test/m").round({ messages: [user("hi")], tools: [], requestId: "r", signal: AbortSignal.timeout(50), stream: false, params: {} });
    await expect((async () => {
      for await (const _ of round);
    })()).rejects.toThrow(/timed out|abort/i);
  });
});
