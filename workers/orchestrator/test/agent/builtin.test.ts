import { describe, expect, it } from "vitest";
import type { ChatMessage } from "../../../../lib/protocol/index.js";
import { createdWhileTimePasses } from "../../../../test/support/stream-clock.js";
import { chat, completionOf, newTenant, streamText, user } from "./helpers.js";

const CLOSES = "44.34,44.09,44.15,43.61,44.33,44.83,45.10,45.42,45.84,46.08,45.89,46.03,45.61,46.28,46.28";

describe("builtin provider (no language model)", () => {
  it("routes an RSI request to technical-analysis and answers with the number", async () => {
    const tenantId = await newTenant();
    const reply = completionOf(await chat([user(`Compute the RSI(14) of these closes: ${CLOSES}`)], { tenantId }));
    const text = reply.choices[0]!.message.content!;
    expect(reply.cio.provider).toBe("builtin");
    expect(reply.cio.tools).toEqual([expect.objectContaining({ name: "technical-analysis", ok: true })]);
    expect(reply.cio.tools[0]!.arguments).toMatchObject({ indicator: "rsi", period: 14, closes: CLOSES.split(",").map(Number) });
    expect(text).toMatch(/RSI\(14\) = 70\.\d+/);
    expect(text).toContain("no language model was used");
  });

  it("estimates an image part as a few tokens, not its base64 bytes at four characters a token", async () => {
    const tenantId = await newTenant();
    const photo = `data:image/jpeg;base64,${"A".repeat(400_000)}`;
    const reply = completionOf(await chat([{ role: "user", content: [{ type: "text", text: "hello there" }, { type: "image_url", image_url: { url: photo } }] }], { tenantId }));
    expect(reply.usage!.prompt_tokens).toBeLessThan(20);
  });

  it("answers from a tool result sent as text parts with its text, not its JSON", async () => {
    const tenantId = await newTenant();
    const call = { id: "call_1", type: "function" as const, function: { name: "lookup_order", arguments: "{}" } };
    const messages: ChatMessage[] = [user("where is my parcel"), { role: "assistant", content: null, tool_calls: [call] }, { role: "tool", tool_call_id: call.id, content: [{ type: "text", text: "In Oslo," }, { type: "text", text: "arriving today." }] }];
    const text = completionOf(await chat(messages, { tenantId })).choices[0]!.message.content!;
    expect(text.startsWith("In Oslo, arriving today.\n\n")).toBe(true);
  });

  it("says plainly when no tool fits and no model is configured", async () => {
    const tenantId = await newTenant();
    const reply = completionOf(await chat([user("hello there")], { tenantId }));
    expect(reply.cio.tools).toEqual([]);
    expect(reply.choices[0]!.message.content).toContain("no language model was used");
  });

  it("refuses JSON output (response_format) with 501 no_model_provider rather than prose a JSON parser rejects", async () => {
    const tenantId = await newTenant();
    for (const response_format of [{ type: "json_object" }, { type: "json_schema", json_schema: { name: "x", schema: { type: "object" } } }]) {
      const reply = await chat([user("hello there, as JSON")], { tenantId, body: { response_format } });
      expect(reply).toMatchObject({ kind: "error", error: { status: 501, error: { code: "no_model_provider", param: "response_format" } } });
    }
    expect(completionOf(await chat([user("hello there")], { tenantId, body: { response_format: { type: "text" } } })).cio.provider).toBe("builtin");
  });

  it("streams the tool-based answer with tool activity as SSE comments and cio on the last chunk", async () => {
    const tenantId = await newTenant();
    const body = await streamText(await chat([user(`SMA period 5 of these closes: ${CLOSES}`)], { tenantId, body: { stream: true } }));
    expect(body).toMatch(/^: cio tool technical-analysis started /m);
    expect(body).toMatch(/^: cio tool technical-analysis ok \d+ms/m);
    const data = body.split("\n\n").filter((b) => b.startsWith("data: ") && !b.includes("[DONE]")).map((b) => JSON.parse(b.slice(6)));
    const text = data.map((c) => c.choices[0]?.delta?.content ?? "").join("");
    expect(text).toMatch(/SMA\(5\) = 46\.\d+/);
    expect(data.at(-1).choices[0].finish_reason).toBe("stop");
    expect(data.at(-1).cio.tools[0]).toMatchObject({ name: "technical-analysis", ok: true });
  });

  it("stamps every chunk of a stream with its one created time, however long the stream takes", async () => {
    const tenantId = await newTenant();
    const reply = await chat([user("hello there")], { tenantId, body: { stream: true, stream_options: { include_usage: true } } });
    if (reply.kind !== "stream") throw new Error(`expected a stream, got ${JSON.stringify(reply)}`);
    const created = await createdWhileTimePasses(reply.body);
    expect(created.length).toBeGreaterThan(3);
    expect(new Set(created).size).toBe(1);
  });

  it("honours a client's tool_choice: the named tool or some tool is called even below the relevance threshold", async () => {
    const tenantId = await newTenant();
    const lookup = { type: "function", function: { name: "lookup_order", parameters: { type: "object", properties: { query: { type: "string" } }, required: ["query"] } } };
    const weather = { type: "function", function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } } };
    // Nothing in "where is my parcel" matches any tool's text: unforced, the planner calls nothing.
    const calls = (r: ReturnType<typeof completionOf>) => [...r.cio.tools.map((t) => t.name), ...(r.choices[0]!.message.tool_calls ?? []).map((c) => c.function.name)];
    const ask = async (tool_choice?: unknown) => completionOf(await chat([user("where is my parcel")], { tenantId, body: { tools: [lookup, weather], tool_choice } }));
    expect(calls(await ask())).toEqual([]);
    const named = await ask({ type: "function", function: { name: "lookup_order" } });
    expect(named.choices[0]!.finish_reason).toBe("tool_calls");
    expect(named.choices[0]!.message.tool_calls).toEqual([expect.objectContaining({ function: { name: "lookup_order", arguments: JSON.stringify({ query: "where is my parcel" }) } })]);
    // "required": some tool, ours or the client's, whichever the text can fill.
    expect(calls(await ask("required"))).toHaveLength(1);
    // allowed_tools with mode "required": one of the listed tools, even one the text does not mention.
    expect(calls(await ask({ type: "allowed_tools", allowed_tools: { mode: "required", tools: [{ type: "function", function: { name: "lookup_order" } }] } }))).toEqual(["lookup_order"]);
    // A forced tool whose required arguments the text does not supply: said plainly, not answered in prose.
    const cannot = await chat([user("where is my parcel")], { tenantId, body: { tools: [lookup, weather], tool_choice: { type: "function", function: { name: "get_weather" } } } });
    expect(cannot).toMatchObject({ kind: "error", error: { status: 501, error: { code: "no_model_provider", param: "tool_choice", message: expect.stringContaining("'get_weather'") } } });
  });
});
