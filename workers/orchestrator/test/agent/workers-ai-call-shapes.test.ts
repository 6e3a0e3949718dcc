/**
 * Workers AI models write tool calls in three shapes: flat `{name, arguments}` (older function-calling
 * models), `{id, type, function: {name, arguments}}` at the top level (Llama 4 Scout, per
 * @cloudflare/workers-types' Ai_Cf_Meta_Llama_4_Scout_17B_16E_Instruct_Output) and OpenAI's choices. Each
 * reaches the agent loop with its name, its arguments as JSON text, and its id when it has one.
 */
import { describe, expect, it } from "vitest";
import type { ModelEvent, ModelToolCall } from "../../src/providers/provider.js";
import { workersAiProvider } from "../../src/providers/workers-ai/index.js";
import { chat, completionOf, newTenant, scriptedAi, user } from "./helpers.js";

const SCOUT = "@cf/meta/llama-4-scout-17b-16e-instruct";
const CLOSES = [44.34, 44.09, 44.15, 43.61, 44.33, 44.83, 45.1, 45.42, 45.84, 46.08, 45.89, 46.03, 45.61, 46.28, 46.28];
const ARGS = { indicator: "rsi", closes: CLOSES };

/** The calls one round hands on for the binding's answer `out`. */
async function callsFor(out: unknown): Promise<ModelToolCall[]> {
  const { ai } = scriptedAi([() => out]);
  const events: ModelEvent[] = [];
  const round = workersAiProvider(ai, SCOUT).round({ messages: [user("RSI?")], tools: [], requestId: "r", signal: AbortSignal.timeout(5000), stream: false, params: {} });
  for await (const ev of round) events.push(ev);
  return events.flatMap((e) => (e.type === "tool_call" ? [e.call] : []));
}

describe("Workers AI: the shapes of a model's tool calls", () => {
  it("Llama 4 Scout's nested function: name, arguments (object or JSON text) and id", async () => {
    const calls = await callsFor({
      response: "",
      tool_calls: [
        { id: "chatcmpl-tool-1", type: "function", function: { name: "technical-analysis", arguments: ARGS } },
        { type: "function", function: { name: "technical-analysis", arguments: JSON.stringify(ARGS) } },
      ],
      usage: { prompt_tokens: 40, completion_tokens: 12, total_tokens: 52 },
    });
    expect(calls[0]).toEqual({ id: "chatcmpl-tool-1", name: "technical-analysis", arguments: JSON.stringify(ARGS) });
    expect(calls[1]).toMatchObject({ name: "technical-analysis", arguments: JSON.stringify(ARGS) });
    expect(calls[1]!.id).toMatch(/^call_/);
  });

  it("the flat shape and OpenAI's choices as before", async () => {
    expect(await callsFor({ response: null, tool_calls: [{ name: "technical-analysis", arguments: ARGS }] })).toMatchObject([{ name: "technical-analysis", arguments: JSON.stringify(ARGS) }]);
    const openAi = { choices: [{ message: { content: null, tool_calls: [{ id: "call_x", type: "function", function: { name: "technical-analysis", arguments: '{"indicator":"rsi"}' } }] }, finish_reason: "tool_calls" }] };
    expect(await callsFor(openAi)).toEqual([{ id: "call_x", name: "technical-analysis", arguments: '{"indicator":"rsi"}' }]);
  });

  it("cio/auto runs the tool Llama 4 Scout asked for and answers from its result", async () => {
    const tenantId = await newTenant();
    const { ai, seen } = scriptedAi([
      () => ({ response: "", tool_calls: [{ id: "chatcmpl-tool-1", type: "function", function: { name: "technical-analysis", arguments: ARGS } }] }),
      () => ({ response: "done" }),
    ]);
    const reply = completionOf(await chat([user("RSI of my closes?")], { tenantId, settings: { AI: ai, CIO_PROVIDER: "workers-ai", CIO_WORKERS_AI_MODEL: SCOUT } }));
    expect(reply.cio.tools).toMatchObject([{ name: "technical-analysis", arguments: ARGS, ok: true }]);
    // The second round reads the call under its own id, answered by the tool's result.
    const messages = seen[1]!.inputs.messages as { role: string; tool_call_id?: string }[];
    expect(messages.find((m) => m.role === "tool")?.tool_call_id).toBe("chatcmpl-tool-1");
    expect(reply.choices[0]!.message.content).toBe("done");
  });
});
