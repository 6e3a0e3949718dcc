/**
 * A turn that failed (an upstream 5xx, a broken stream, the watchdog, a restart) or was cancelled has no answer,
 * and its input is not part of the conversation: the model never sees it again, and a client's retry of it (what
 * OpenAI's SDKs do on a 5xx by themselves) is taken as the first try. The messages stay listed, with their
 * turn's status.
 */
import { describe, expect, it } from "vitest";
import type { ChatReply } from "../../../lib/protocol/index.js";
import type { SessionMessage } from "../../../lib/protocol/session.js";
import { withDirective, type Directive } from "../../../test/mock-upstream/directive.js";
import { connect, eventually, newSession, upstreamLog, type TestSession } from "./session-fixtures.js";

type Json = Extract<ChatReply, { kind: "json" }>;
const TOOLS = [{ type: "function", function: { name: "get_weather", parameters: { type: "object" } } }];
const turn = (s: TestSession, requestId: string, messages: unknown[]) =>
  s.stub.chatCompletion({ requestId, tenantId: s.tenantId, keyId: "k-test", body: { model: "mock-model", session_id: s.sessionId, tools: TOOLS, messages } }) as unknown as Promise<ChatReply>;
const listed = async (s: TestSession) => (await s.stub.messages(s, 0, 100))!.data as SessionMessage[];

/**
 * The mock model answers 503 to every attempt of one turn: passthrough tries CIO_UPSTREAM_RETRIES (2) more times
 * before it reports the failure, so three attempts fail and the next turn's is answered.
 */
const FAILS_ONE_TURN: Directive = { failTimes: 3, status: 503 };
const upstreamFailed = { kind: "error", error: { status: expect.any(Number) } };

describe("a turn that failed downstream is not part of the conversation", () => {
  it("the retry of a tool result whose turn got a 503 is answered, not refused as invalid_tool_result", async () => {
    const s = await newSession();
    const failing = `failing-result-${s.sessionId}`;
    // The result's turn fails: the case that sees the result plays an upstream that is down for that turn.
    const script = [{ tool_calls: [{ name: "get_weather", arguments: {} }] }, { text: "3°C in Oslo." }];
    const ask = withDirective("weather in Oslo?", { script, cases: [{ when: ["3°C"], id: failing, ...FAILS_ONE_TURN }] });
    const first = (await turn(s, "r1", [{ role: "user", content: ask }])) as Json;
    const callId = first.completion.choices[0]!.message.tool_calls![0]!.id;
    const result = { role: "tool", tool_call_id: callId, content: "3°C" };
    const failed = await turn(s, "r2", [result]);
    expect(failed).toMatchObject(upstreamFailed);
    expect((failed as { error: { status: number } }).error.status).toBeGreaterThanOrEqual(500);
    // The client (or the SDK's automatic retry) sends the same request again.
    const retry = await turn(s, "r3", [result]);
    expect(retry).toMatchObject({ kind: "json", completion: { choices: [{ message: { content: "3°C in Oslo." } }] } });
    const sent = (await upstreamLog(failing)).at(-1)!.body.messages as { role: string; tool_call_id?: string }[];
    expect(sent.map((m) => [m.role, m.tool_call_id ?? null])).toEqual([["user", null], ["assistant", null], ["tool", callId]]);
  });

  it("the retry of a question whose turn got a 503 sends the question to the model once", async () => {
    const s = await newSession();
    const mockId = `retry-q-${s.sessionId}`;
    const q = { role: "user", content: withDirective("what is 2+2?", { id: mockId, text: "4", ...FAILS_ONE_TURN }) };
    expect(await turn(s, "q1", [q])).toMatchObject(upstreamFailed);
    expect(await turn(s, "q2", [q])).toMatchObject({ kind: "json" });
    expect((await upstreamLog(mockId)).at(-1)!.body.messages.map((m) => m.role)).toEqual(["user"]);
    // Later turns do not see it either.
    const later = `after-retry-${s.sessionId}`;
    expect(await turn(s, "q3", [{ role: "user", content: withDirective("and 3+3?", { id: later, text: "6" }) }])).toMatchObject({ kind: "json" });
    expect((await upstreamLog(later)).at(-1)!.body.messages.map((m) => m.role)).toEqual(["user", "assistant", "user"]);
  });

  it("a socket's chat frame sent again after its turn failed reaches the model once", async () => {
    const s = await newSession();
    const c = await connect(s);
    const mockId = `socket-retry-${s.sessionId}`;
    const content = withDirective("what is 2+2?", { id: mockId, text: "4", ...FAILS_ONE_TURN });
    c.send({ type: "chat", id: "s1", content });
    await c.waitFor((f) => f.type === "error" && f.id === "s1");
    c.send({ type: "chat", id: "s2", content });
    await c.waitFor((f) => f.type === "message" && f.id === "s2" && f.role === "assistant");
    expect((await upstreamLog(mockId)).at(-1)!.body.messages.map((m) => m.role)).toEqual(["user"]);
    c.close();
  });

  it("GET messages still lists a failed turn's input, with the status of each message's turn", async () => {
    const s = await newSession();
    const q = { role: "user", content: withDirective("what is 2+2?", { id: `listed-${s.sessionId}`, text: "4", ...FAILS_ONE_TURN }) };
    await turn(s, "l1", [q]);
    await turn(s, "l2", [q]);
    expect((await listed(s)).map((m) => [m.id, m.role, m.turn_status])).toEqual([
      ["l1", "user", "failed"],
      ["l2", "user", "succeeded"],
      ["l2", "assistant", "succeeded"],
    ]);
  });
});

describe("a cancelled turn is not part of the conversation", () => {
  it("the question of a turn cancelled from a socket is not sent with the next one", async () => {
    const s = await newSession();
    const c = await connect(s);
    const pending = turn(s, "x1", [{ role: "user", content: withDirective("a long essay, please", { delayMs: 20_000 }) }]);
    await eventually(async () => (await listed(s)).length === 1);
    c.send({ type: "cancel", id: "x1" });
    expect(await pending).toMatchObject({ kind: "error", error: { error: { code: "cancelled" } } });
    const mockId = `after-cancel-${s.sessionId}`;
    expect(await turn(s, "x2", [{ role: "user", content: withDirective("just a haiku", { id: mockId, text: "ok" }) }])).toMatchObject({ kind: "json" });
    await eventually(async () => (await upstreamLog(mockId)).length > 0);
    expect((await upstreamLog(mockId)).at(-1)!.body.messages.map((m) => m.role)).toEqual(["user"]);
    expect((await listed(s)).map((m) => [m.id, m.turn_status])).toEqual([["x1", "cancelled"], ["x2", "succeeded"], ["x2", "succeeded"]]);
    c.close();
  });
});
