/**
 * The client's tools across a session's turns, as the model is sent them: every call in the history is
 * followed by its result, or left out, and a result that answers no call waiting for one is refused. The
 * gateway's sessions.test.ts follows one call and its result over HTTP.
 */
import { describe, expect, it } from "vitest";
import { continued, storedMessageOf } from "../../../durable-objects/session/client-tools.js";
import type { ChatMessage, ChatReply } from "../../../lib/protocol/index.js";
import { withDirective } from "../../../test/mock-upstream/directive.js";
import { newSession, upstreamLog, type TestSession } from "./session-fixtures.js";

type Json = Extract<ChatReply, { kind: "json" }>;

const TOOLS = [{ type: "function", function: { name: "get_weather", parameters: { type: "object" } } }];
const turn = (s: TestSession, requestId: string, messages: unknown[]) =>
  s.stub.chatCompletion({ requestId, tenantId: s.tenantId, keyId: "k-test", body: { model: "mock-model", session_id: s.sessionId, tools: TOOLS, messages } }) as unknown as Promise<ChatReply>;
/** Each message as [role, the call ids it makes or answers]. */
const shape = (ms: { role: string; tool_calls?: { id: string }[]; tool_call_id?: string }[]) => ms.map((m) => [m.role, m.tool_calls?.map((c) => c.id).join(",") ?? m.tool_call_id ?? null]);

const call = (id: string) => ({ id, type: "function" as const, function: { name: "get_weather", arguments: "{}" } });
const user = (content: string): ChatMessage => ({ role: "user", content });
const answer = (content: string, ...ids: string[]): ChatMessage => ({ role: "assistant", content, ...(ids.length ? { tool_calls: ids.map(call) } : {}) });
const result = (id: string): ChatMessage => ({ role: "tool", tool_call_id: id, content: "3°C" });

describe("the history a turn sends with the client's tools", () => {
  it("records content parts as their text, naming a part that is not text, and no content as none", () => {
    const picture: ChatMessage = { role: "user", content: [{ type: "text", text: "What is" }, { type: "text", text: "this?" }, { type: "image_url", image_url: { url: "data:image/png;base64,AA==" } }] };
    expect(storedMessageOf(picture)).toEqual({ role: "user", content: "What is this? [image_url]" });
    expect(storedMessageOf({ role: "tool", tool_call_id: "a", content: [{ type: "text", text: "3°C" }] })).toEqual({ role: "tool", content: "3°C", tool_call_id: "a" });
    expect(storedMessageOf({ role: "assistant", content: null, tool_calls: [call("a")] })).toEqual({ role: "assistant", content: "", tool_calls: [call("a")] });
  });

  it("leaves out the calls no result follows, in any answer, and keeps the answer's text", () => {
    const history = [user("weather?"), answer("Let me look.", "a"), user("never mind"), answer("OK."), user("both cities?"), answer("", "b", "c"), result("b"), answer("Oslo: 3°C.")];
    expect(continued(history, [user("thanks")]).history).toEqual([
      user("weather?"),
      answer("Let me look."),
      user("never mind"),
      answer("OK."),
      user("both cities?"),
      answer("", "b"),
      result("b"),
      answer("Oslo: 3°C."),
    ]);
  });

  it("keeps the last answer's calls that the request's results answer, and drops an echo of that answer", () => {
    const history = [user("weather?"), answer("", "a", "b")];
    expect(continued(history, [result("a"), result("b")]).history).toEqual(history);
    expect(continued(history, [answer("", "a", "b"), result("a")])).toEqual({ history: [user("weather?"), answer("", "a")], incoming: [result("a")] });
    expect(continued(history, [user("never mind")]).history).toEqual([user("weather?"), answer("")]);
  });

  it("leaves out a result that answers no call waiting for one (a repeat stored before results were checked)", () => {
    const history = [user("weather?"), answer("", "a"), result("a"), answer("3°C."), result("a"), result("a")];
    expect(continued(history, [user("thanks")]).history).toEqual(history.slice(0, 4));
  });

  it("a call the client skipped is not sent on any later turn", async () => {
    const s = await newSession();
    const ask = withDirective("weather in Oslo?", { script: [{ tool_calls: [{ name: "get_weather", arguments: {} }] }] });
    expect(await turn(s, "a1", [user(ask)])).toMatchObject({ kind: "json" });
    // The client asks something else instead of running its tool, then something else again.
    expect(await turn(s, "a2", [user(withDirective("never mind: hello", { text: "Hello." }))])).toMatchObject({ kind: "json" });
    const mockId = `skipped-call-${s.sessionId}`;
    expect(await turn(s, "a3", [user(withDirective("and now?", { id: mockId, text: "ok" }))])).toMatchObject({ kind: "json" });
    const sent = (await upstreamLog(mockId)).at(-1)!.body.messages;
    expect(shape(sent)).toEqual([["user", null], ["assistant", null], ["user", null], ["assistant", null], ["user", null]]);
  });
});

describe("a tool result the session is not waiting for", () => {
  const messageCount = async (s: TestSession) => (await s.stub.messages(s, 0, 100))!.data.length;

  it("sent again (a client's retry) is refused with 400 invalid_tool_result, and nothing is stored or sent on", async () => {
    const s = await newSession();
    const mockId = `repeated-result-${s.sessionId}`;
    const ask = withDirective("weather in Oslo?", { id: mockId, script: [{ tool_calls: [{ name: "get_weather", arguments: {} }] }, { echoTools: true }] });
    const first = (await turn(s, "b1", [user(ask)])) as Json;
    const callId = first.completion.choices[0]!.message.tool_calls![0]!.id;
    expect(await turn(s, "b2", [result(callId)])).toMatchObject({ kind: "json" });
    const stored = await messageCount(s);
    const calls = (await upstreamLog(mockId)).length;
    expect(await turn(s, "b3", [result(callId)])).toMatchObject({
      kind: "error",
      error: { status: 400, error: { type: "invalid_request_error", code: "invalid_tool_result", param: "messages" } },
    });
    expect(await messageCount(s)).toBe(stored);
    expect((await upstreamLog(mockId)).length).toBe(calls);
    const later = `after-repeat-${s.sessionId}`;
    expect(await turn(s, "b4", [user(withDirective("thanks", { id: later, text: "ok" }))])).toMatchObject({ kind: "json" });
    expect(shape((await upstreamLog(later)).at(-1)!.body.messages)).toEqual([["user", null], ["assistant", callId], ["tool", callId], ["assistant", null], ["user", null]]);
  });

  it("for a call never made, or after another message, is refused too; the answer's own calls are answered as before", async () => {
    const s = await newSession();
    const ask = withDirective("weather in Oslo?", { script: [{ tool_calls: [{ name: "get_weather", arguments: {} }] }, { text: "3°C." }] });
    const callId = ((await turn(s, "c1", [user(ask)])) as Json).completion.choices[0]!.message.tool_calls![0]!.id;
    const refused = { kind: "error", error: { status: 400, error: { code: "invalid_tool_result" } } };
    expect(await turn(s, "c2", [result("call_never_made")])).toMatchObject(refused);
    expect(await turn(s, "c3", [user("and Bergen?"), result(callId)])).toMatchObject(refused);
    expect(await turn(s, "c4", [result(callId)])).toMatchObject({ kind: "json" });
  });

  it("as a deprecated function message, which names no call, is refused with 400 unsupported_parameter on its role, and nothing is stored or sent on", async () => {
    const s = await newSession();
    const mockId = `function-result-${s.sessionId}`;
    const fn = { role: "function", name: "get_weather", content: "3°C" };
    expect(await turn(s, "d1", [user(withDirective("weather?", { id: mockId })), fn])).toMatchObject({
      kind: "error",
      error: { status: 400, error: { type: "invalid_request_error", code: "unsupported_parameter", param: "messages[1].role", message: expect.stringContaining("'tool' message") } },
    });
    expect(await messageCount(s)).toBe(0);
    expect(await upstreamLog(mockId)).toHaveLength(0);
  });
});
