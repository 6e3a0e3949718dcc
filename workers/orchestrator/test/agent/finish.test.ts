/**
 * What the answer of `cio/auto` ends with: the model's own finish_reason when it says the answer is not
 * whole, and nothing of ours appended to content the client asked to be JSON.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { limiterStub } from "../../../../lib/do-names.js";
import type { OrchestratorEnv } from "../../src/env.js";
import { withDirective } from "../../../../test/mock-upstream/directive.js";
import { chat, completionOf, mockTool, newTenant, OPENAI, scripted, streamText, uniq, user } from "./helpers.js";

const WEATHER = { type: "function" as const, function: { name: "get_weather", description: "Weather in a city", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } } };

const dataChunks = (body: string) => body.split("\n\n").filter((b) => b.startsWith("data: {")).map((b) => JSON.parse(b.slice(6)));
const finishOf = (body: string) => dataChunks(body).map((c) => c.choices[0]?.finish_reason).filter(Boolean);
const contentOf = (body: string) => dataChunks(body).map((c) => c.choices[0]?.delta?.content ?? "").join("");

describe("finish_reason of cio/auto", () => {
  it("an answer cut by max_tokens ends with length, in JSON and in SSE", async () => {
    const tenantId = await newTenant();
    const cut = user(withDirective("tell me everything", { text: "a long answer that was cut", finishReason: "length" }));
    const json = completionOf(await chat([cut], { tenantId, settings: OPENAI, body: { max_tokens: 6 } }));
    expect(json.choices[0]).toMatchObject({ finish_reason: "length", message: { content: "a long answer that was cut" } });
    const sse = await streamText(await chat([cut], { tenantId, settings: OPENAI, body: { max_tokens: 6, stream: true } }));
    expect(finishOf(sse)).toEqual(["length"]);
  });

  it("content_filter reaches the client", async () => {
    const tenantId = await newTenant();
    const filtered = user(withDirective("something", { text: "partial", finishReason: "content_filter" }));
    const json = completionOf(await chat([filtered], { tenantId, settings: OPENAI }));
    expect(json.choices[0]!.finish_reason).toBe("content_filter");
    const sse = await streamText(await chat([filtered], { tenantId, settings: OPENAI, body: { stream: true } }));
    expect(finishOf(sse)).toEqual(["content_filter"]);
  });

  it("a client tool call cut mid-arguments is not handed over: the answer ends with length", async () => {
    const tenantId = await newTenant();
    const cut = scripted("weather in Paris?", [{ tool_calls: [{ name: "get_weather", arguments: '{"city": "Par' }], finishReason: "length" }]);
    const json = completionOf(await chat([cut], { tenantId, settings: OPENAI, body: { tools: [WEATHER] } }));
    expect(json.choices[0]!.finish_reason).toBe("length");
    expect(json.choices[0]!.message.tool_calls).toBeUndefined();
    const sse = await streamText(await chat([cut], { tenantId, settings: OPENAI, body: { tools: [WEATHER], stream: true } }));
    expect(finishOf(sse)).toEqual(["length"]);
    expect(sse).not.toContain("tool_calls");
  });

  it("one of our tool calls cut mid-arguments is not run", async () => {
    const tenantId = await newTenant();
    const name = uniq("cut");
    await mockTool(tenantId, name);
    const reply = completionOf(await chat([scripted("go", [{ tool_calls: [{ name, arguments: '{"mode": "ec' }], finishReason: "length" }, { text: "not reached" }])], { tenantId, settings: OPENAI }));
    expect(reply.choices[0]!.finish_reason).toBe("length");
    expect(reply.cio).toMatchObject({ steps: 1, tools: [] });
  });
});

describe("answers the client asked to be JSON", () => {
  const failingRound = (name: string) => scripted("go", [{ tool_calls: [{ name, arguments: { mode: "fail", code: "boom" } }] }, { text: '{"answer": 42}' }]);

  it("json_object: a tool failure adds no note to the content; cio.tools reports it", async () => {
    const tenantId = await newTenant();
    const name = uniq("fails");
    await mockTool(tenantId, name);
    const reply = completionOf(await chat([failingRound(name)], { tenantId, settings: OPENAI, body: { response_format: { type: "json_object" } } }));
    expect(JSON.parse(reply.choices[0]!.message.content!)).toEqual({ answer: 42 });
    expect(reply.cio.tools[0]).toMatchObject({ name, ok: false });
  });

  it("json_schema, streamed: the same", async () => {
    const tenantId = await newTenant();
    const name = uniq("fails");
    await mockTool(tenantId, name);
    const response_format = { type: "json_schema", json_schema: { name: "a", schema: { type: "object" } } };
    const sse = await streamText(await chat([failingRound(name)], { tenantId, settings: OPENAI, body: { response_format, stream: true } }));
    expect(JSON.parse(contentOf(sse))).toEqual({ answer: 42 });
  });

  it("without response_format the failure is still named in the answer", async () => {
    const tenantId = await newTenant();
    const name = uniq("fails");
    await mockTool(tenantId, name);
    const reply = completionOf(await chat([failingRound(name)], { tenantId, settings: OPENAI }));
    expect(reply.choices[0]!.message.content).toContain(`Note: the tool ${name}`);
  });
});

describe("an answer that fails after paid model rounds", () => {
  it("books the rounds already spent, not nothing: the upstream billed them and the daily budget must see them", async () => {
    const tenantId = await newTenant();
    const closes = [44.34, 44.09, 44.15, 43.61, 44.33, 44.83, 45.1, 45.42, 45.84, 46.08, 45.89, 46.03, 45.61, 46.28, 46.28];
    // Round 1 asks for a tool (the mock bills 10 + 5 tokens for it); round 2, which sees the tool's result, fails.
    const msg = user(withDirective("RSI please", { script: [{ tool_calls: [{ name: "technical-analysis", arguments: { indicator: "rsi", closes } }] }, { text: "unreached" }], cases: [{ when: ["RSI(14) ="], status: 400 }] }));
    const reply = await chat([msg], { tenantId, settings: OPENAI });
    expect(reply.kind).toBe("error");
    const limiter = limiterStub((env as unknown as OrchestratorEnv).RATE_LIMITER, tenantId);
    await expect.poll(async () => (await limiter.snapshot("k")).tokensToday).toBe(15);
  });
});
