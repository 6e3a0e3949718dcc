/**
 * A passthrough model's usage comes from the upstream as it answered: what it reports is booked against the
 * tenant's daily budget only when it is sane, and otherwise replaced by our estimate, for the client too.
 */
import { describe, expect, it } from "vitest";
import type { Usage } from "../../../lib/protocol/index.js";
import { limiterStub } from "../../../lib/do-names.js";
import { withDirective } from "../../../test/mock-upstream/directive.js";
import { eventually } from "../../../test/support/eventually.js";
import { baseEnv, chat, completionOf, newTenant, OPENAI, streamText, user } from "./agent/helpers.js";

const BROKEN: Record<string, Record<string, unknown>> = {
  "string counts": { prompt_tokens: "12", completion_tokens: "3", total_tokens: "15" },
  "negative counts": { prompt_tokens: -1000, completion_tokens: 3, total_tokens: -997 },
};

const sane = (u: Usage | undefined) => {
  expect(u).toBeDefined();
  for (const k of ["prompt_tokens", "completion_tokens", "total_tokens"] as const) {
    expect(Number.isInteger(u![k]) && u![k] >= 0, `${k}: ${JSON.stringify(u![k])}`).toBe(true);
  }
  expect(u!.total_tokens).toBe(u!.prompt_tokens + u!.completion_tokens);
  return u!;
};

const tokensToday = (tenantId: string) => limiterStub(baseEnv.RATE_LIMITER, tenantId).snapshot("k").then((s) => s.tokensToday);

describe("passthrough usage from a broken upstream", () => {
  for (const [name, usage] of Object.entries(BROKEN)) {
    it(`${name}: a JSON answer books and shows our estimate instead`, async () => {
      const tenantId = await newTenant();
      const reply = await chat([user(withDirective("one two three four", { text: "five six", usage }))], { tenantId, body: { model: "mock-model" } });
      const u = sane(completionOf(reply).usage);
      expect(u.total_tokens).toBeGreaterThan(0);
      expect(await eventually(() => tokensToday(tenantId), (n) => n !== 0)).toBe(u.total_tokens);
    });

    it(`${name}: a stream books and sends our estimate instead`, async () => {
      const tenantId = await newTenant();
      const body = { model: "mock-model", stream: true, stream_options: { include_usage: true } };
      const text = await streamText(await chat([user(withDirective("one two three four", { text: "five six", usage }))], { tenantId, body }));
      const chunks = text.split("\n\n").filter((b) => b.startsWith("data: {")).map((b) => JSON.parse(b.slice(6)) as { usage?: Usage });
      const u = sane(chunks.at(-1)!.usage);
      expect(await eventually(() => tokensToday(tenantId), (n) => n !== 0)).toBe(u.total_tokens);
    });
  }
});

describe("cio/auto usage from a broken upstream", () => {
  for (const [name, usage] of Object.entries(BROKEN)) {
    it(`${name}: the answer books and shows our estimate instead`, async () => {
      const tenantId = await newTenant();
      const reply = await chat([user(withDirective("one two three four", { text: "five six", usage }))], { tenantId, settings: OPENAI });
      const u = sane(completionOf(reply).usage);
      expect(u.total_tokens).toBeGreaterThan(0);
      expect(await eventually(() => tokensToday(tenantId), (n) => n !== 0)).toBe(u.total_tokens);
    });
  }
});

describe("passthrough usage estimated for an upstream that reports none", () => {
  const args = JSON.stringify({ sql: "SELECT ".padEnd(4000, "x") });
  const tools = [{ type: "function", function: { name: "run_sql", description: "Runs SQL. ".repeat(800), parameters: { type: "object", properties: { sql: { type: "string" } } } } }];

  it("a JSON answer that calls a tool counts the call's arguments as completion tokens", async () => {
    const tenantId = await newTenant();
    const raw = JSON.stringify({
      id: "chatcmpl-x", object: "chat.completion", created: 1, model: "mock-model",
      choices: [{ index: 0, message: { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "run_sql", arguments: args } }] }, finish_reason: "tool_calls" }],
    });
    const u = sane(completionOf(await chat([user(withDirective("query it", { rawBody: raw }))], { tenantId, body: { model: "mock-model" } })).usage);
    // About 4000 characters of arguments were written: about 1000 tokens.
    expect(u.completion_tokens).toBeGreaterThan(900);
    expect(await eventually(() => tokensToday(tenantId), (n) => n !== 0)).toBe(u.total_tokens);
  });

  it("the prompt counts the request's tool schemas and the arguments of the calls earlier in the conversation", async () => {
    const tenantId = await newTenant();
    const messages = [
      user("how many orders?"),
      { role: "assistant" as const, content: null, tool_calls: [{ id: "call_1", type: "function" as const, function: { name: "run_sql", arguments: args } }] },
      { role: "tool" as const, tool_call_id: "call_1", content: "42" },
      user(withDirective("and so?", { text: "42 orders", noUsage: true })),
    ];
    const u = sane(completionOf(await chat(messages, { tenantId, body: { model: "mock-model", tools } })).usage);
    // 8000 characters of schema and 4000 of earlier arguments: about 3000 tokens.
    expect(u.prompt_tokens).toBeGreaterThan(2700);
  });

  it("a stream that calls a tool counts the call's arguments, in the usage it sends and books", async () => {
    const tenantId = await newTenant();
    const script = [{ tool_calls: [{ name: "run_sql", arguments: { sql: "SELECT ".padEnd(4000, "x") } }] }];
    const body = { model: "mock-model", stream: true, stream_options: { include_usage: true }, tools };
    const text = await streamText(await chat([user(withDirective("query it", { script, noUsage: true }))], { tenantId, body }));
    const chunks = text.split("\n\n").filter((b) => b.startsWith("data: {")).map((b) => JSON.parse(b.slice(6)) as { usage?: Usage });
    const u = sane(chunks.at(-1)!.usage);
    expect(u.completion_tokens).toBeGreaterThan(900);
    expect(u.prompt_tokens).toBeGreaterThan(1800);
    expect(await eventually(() => tokensToday(tenantId), (n) => n !== 0)).toBe(u.total_tokens);
  });

  it("a stream cut short books the tool schemas its upstream read", async () => {
    const tenantId = await newTenant();
    const words = Array.from({ length: 100 }, (_, i) => `w${i}`).join(" ");
    const reply = await chat([user(withDirective("go", { text: words, chunkDelayMs: 20, noUsage: true }))], { tenantId, body: { model: "mock-model", stream: true, tools } });
    if (reply.kind !== "stream") throw new Error(`expected a stream, got ${reply.kind}`);
    const reader = reply.body.getReader();
    for (let i = 0; i < 3; i++) await reader.read();
    await reader.cancel();
    // 8000 characters of schema: about 2000 tokens, where the messages and the words sent are a few.
    expect(await eventually(() => tokensToday(tenantId), (n) => n !== 0)).toBeGreaterThan(1800);
  });
});
