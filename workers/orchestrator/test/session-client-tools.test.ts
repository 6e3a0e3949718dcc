/**
 * The client's tools across a session's turns, as the model is sent them: every call in the history is
 * followed by its result, or left out. The gateway's sessions.test.ts follows one call and its result over HTTP.
 */
import { describe, expect, it } from "vitest";
import { continued } from "../../../durable-objects/session/client-tools.js";
import type { ChatMessage, ChatReply } from "../../../lib/protocol/index.js";
import { withDirective } from "../../../test/mock-upstream/directive.js";
import { newSession, upstreamLog, type TestSession } from "./session-fixtures.js";

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
