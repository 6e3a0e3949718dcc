import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { ChatReply } from "../../../lib/protocol/index.js";
import { released } from "../../../lib/rpc.js";
import { councilStub } from "../src/councils/rpc.js";
import { createdWhileTimePasses } from "../../../test/support/stream-clock.js";
import { get, rows, says, scripted, tenant, when } from "./council-helpers.js";

const chat = (x: unknown) => released((exports as unknown as { default: { chat(x: unknown): Promise<ChatReply> } }).default.chat(x));
const call = (tenantId: string, body: Record<string, unknown>) => ({ requestId: `req-${crypto.randomUUID().slice(0, 8)}`, tenantId, keyId: "k1", body: { model: "cio/council", ...body } });

describe("cio/council as a chat model", () => {
  it("runs a council on the question with the default panel and answers with the round summaries and the decision", async () => {
    const t = await tenant();
    const q = scripted("Is TypeScript worth it for a large codebase?", ["analyst", "skeptic", "pragmatist"].map((who) => when(who, 1, says("Yes"))));
    const reply = await chat(call(t, { messages: [{ role: "system", content: "Be brief." }, { role: "user", content: q }] }));
    expect(reply.kind).toBe("json");
    if (reply.kind !== "json") return;
    const text = reply.completion.choices[0]!.message.content as string;
    expect(text).toContain("3 assistants, up to 3 rounds");
    expect(text).toContain("Round 1: Yes 3.00; Yes leads with 100% of the weight (needs 50%).");
    expect(text).toContain("Decision: Yes (consensus in round 1).");
    const cio = (reply.completion as unknown as { cio: { council_id: string; status: string } }).cio;
    expect(cio.status).toBe("consensus");
    const record = await get(t, cio.council_id);
    expect(record).toMatchObject({ kind: "ok", body: { context: "system: Be brief.", status: "consensus" } });
  });

  it("reads a question and context sent as content parts as their text, not as JSON", async () => {
    const t = await tenant();
    const q = scripted("Should we ship on Friday?", ["analyst", "skeptic", "pragmatist"].map((who) => when(who, 1, says("No"))));
    const messages = [
      { role: "system", content: [{ type: "text", text: "Be brief." }, { type: "text", text: "Be kind." }] },
      { role: "user", content: [{ type: "text", text: q }] },
    ];
    const reply = await chat(call(t, { messages }));
    if (reply.kind !== "json") throw new Error(`expected an answer, got ${JSON.stringify(reply)}`);
    const record = await get(t, (reply.completion as unknown as { cio: { council_id: string } }).cio.council_id);
    expect(record).toMatchObject({ kind: "ok", body: { question: q, context: "system: Be brief. Be kind." } });
  });

  it("reads a deprecated function message as context, naming its function", async () => {
    const t = await tenant();
    const q = scripted("Take an umbrella?", ["analyst", "skeptic", "pragmatist"].map((who) => when(who, 1, says("No"))));
    const messages = [
      { role: "assistant", content: null, function_call: { name: "get_weather", arguments: "{}" } },
      { role: "function", name: "get_weather", content: "Sunny, 18 °C" },
      { role: "user", content: q },
    ];
    const reply = await chat(call(t, { messages }));
    if (reply.kind !== "json") throw new Error(`expected an answer, got ${JSON.stringify(reply)}`);
    const record = await get(t, (reply.completion as unknown as { cio: { council_id: string } }).cio.council_id);
    expect(record).toMatchObject({ kind: "ok", body: { context: "assistant: \nfunction get_weather: Sunny, 18 °C" } });
  });

  it("streams one line per round and ends with the escalation when the council cannot agree", async () => {
    const t = await tenant();
    const q = scripted("Tabs or spaces?", [when("alpha", null, says("TABS")), when("beta", null, says("SPACES"))]);
    const council = { assistants: [{ id: "alpha", persona: "You are alpha." }, { id: "beta", persona: "You are beta." }], options: ["TABS", "SPACES"], max_rounds: 2 };
    const reply = await chat(call(t, { stream: true, council, messages: [{ role: "user", content: q }] }));
    expect(reply.kind).toBe("stream");
    if (reply.kind !== "stream") return;
    const sse = await new Response(reply.body).text();
    const content = sse
      .split("\n\n")
      .filter((b) => b.startsWith("data: {"))
      .map((b) => JSON.parse(b.slice(6)) as { choices: { delta: { content?: string } }[] })
      .map((c) => c.choices[0]?.delta.content ?? "")
      .join("");
    const lines = content.trim().split("\n");
    expect(lines[1]).toMatch(/^Round 1: (SPACES|TABS) 1\.00, (SPACES|TABS) 1\.00; no single leader/);
    expect(lines[2]).toMatch(/^Round 2: /);
    expect(lines[3]).toMatch(/^No consensus after 2 rounds: escalated to a human, who chooses between TABS, SPACES/);
    expect(sse.trim().endsWith("data: [DONE]")).toBe(true);
  });

  it("stamps every chunk of its stream with one created time, however long the council takes", async () => {
    const t = await tenant();
    const q = scripted("Ship it?", ["analyst", "skeptic", "pragmatist"].map((who) => when(who, 1, says("Yes"))));
    const reply = await chat(call(t, { stream: true, stream_options: { include_usage: true }, messages: [{ role: "user", content: q }] }));
    if (reply.kind !== "stream") throw new Error(`expected a stream, got ${JSON.stringify(reply)}`);
    const created = await createdWhileTimePasses(reply.body);
    expect(created.length).toBeGreaterThan(3);
    expect(new Set(created).size).toBe(1);
  });

  it("keeps following a council whose object is reset mid-answer, and still answers", async () => {
    const t = await tenant();
    const q = scripted("Survive a reset?", ["analyst", "skeptic", "pragmatist"].map((who) => when(who, 1, says("Yes"), { delayMs: 500 })));
    const c = call(t, { messages: [{ role: "user", content: q }] });
    const answer = chat(c);
    await new Promise((r) => setTimeout(r, 200)); // the round is running and the pipeline is long-polling
    // A reset (a deploy, a move) breaks the calls in flight; the council itself goes on from its storage.
    // The council's id is the pipeline's own, not the request id: read it where the council opened.
    const [opened] = await rows<{ id: string }>("SELECT id FROM councils WHERE tenant_id = ?", t);
    const stub = () => councilStub(env as never, t, opened!.id);
    await runInDurableObject(stub(), (_o, state) => state.abort("reset by the test")).catch(() => undefined);
    // Its pending alarm brings the council back in a fresh instance; run it now instead of waiting.
    expect(await runDurableObjectAlarm(stub())).toBe(true);
    const reply = await answer;
    expect(reply).toMatchObject({ kind: "json" });
    if (reply.kind === "json") expect(reply.completion.choices[0]!.message.content).toContain("Decision: Yes");
  }, 30_000);

  it("rejects a malformed council field with a 400 and opens nothing", async () => {
    const t = await tenant();
    const reply = await chat(call(t, { council: { max_rounds: 99 }, messages: [{ role: "user", content: "Hi?" }] }));
    expect(reply).toMatchObject({ kind: "error", error: { status: 400, error: { param: "council" } } });
  });

  it("refuses options of its own with the trading preset, naming the council field", async () => {
    const t = await tenant();
    const council = { preset: "trading", symbol: "BTCUSDT", options: ["YES", "NO"] };
    const reply = await chat(call(t, { council, messages: [{ role: "user", content: "Trade?" }] }));
    expect(reply).toMatchObject({ kind: "error", error: { status: 400, error: { param: "council", message: expect.stringContaining("the trading preset has its own options") } } });
  });

  it("refuses a trading council to a key without the 'councils' scope: its orders move the paper book /v1/trading guards", async () => {
    const t = await tenant();
    const keyId = `key_${crypto.randomUUID().slice(0, 12)}`;
    await rows("INSERT INTO api_keys (id, tenant_id, name, prefix, hash, scopes) VALUES (?, ?, 'chat only', 'sk-cio-x', ?, '[\"chat\"]')", keyId, t, keyId);
    const reply = await chat({ ...call(t, { council: { preset: "trading", symbol: "BTCUSDT" }, messages: [{ role: "user", content: "Trade?" }] }), keyId });
    expect(reply).toMatchObject({ kind: "error", error: { status: 403, error: { code: "insufficient_scope", message: expect.stringContaining("'councils' scope") } } });
    expect(await rows("SELECT id FROM councils WHERE tenant_id = ?", t)).toEqual([]);
  });
});
