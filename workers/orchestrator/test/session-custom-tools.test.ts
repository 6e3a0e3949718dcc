/**
 * A client's custom tools (GPT-5's free-form tools, which a passthrough model gets as they are) across a
 * session's turns: an answer's custom calls are kept with it, JSON or streamed, so the next request's results
 * for them are taken and the model sees each call as it made it. cio/auto, which calls function tools only,
 * refuses custom tools in a session as it does without one.
 */
import { describe, expect, it } from "vitest";
import type { ChatReply } from "../../../lib/protocol/index.js";
import type { SessionMessage } from "../../../lib/protocol/session.js";
import { withDirective } from "../../../test/mock-upstream/directive.js";
import { eventually, newSession, upstreamLog, type TestSession } from "./session-fixtures.js";

const TOOLS = [{ type: "custom", custom: { name: "run_sql", description: "free-form SQL" } }];
const turn = (s: TestSession, requestId: string, messages: unknown[], extra: Record<string, unknown> = {}) =>
  s.stub.chatCompletion({
    requestId,
    tenantId: s.tenantId,
    keyId: "k-test",
    body: { model: "mock-model", session_id: s.sessionId, tools: TOOLS, messages, ...extra },
  }) as unknown as Promise<ChatReply>;
const listed = async (s: TestSession) => (await s.stub.messages(s, 0, 100))!.data as SessionMessage[];
/** A model that calls run_sql with `SELECT count(*) FROM orders`, then answers with the result it got. */
const asking = (id: string) =>
  withDirective("how many orders?", { id, script: [{ tool_calls: [{ name: "run_sql", arguments: "SELECT count(*) FROM orders", custom: true }] }, { echoTools: true }] });
const CALL = { type: "custom", custom: { name: "run_sql", input: "SELECT count(*) FROM orders" } };

describe("a client's custom tool calls in a session", () => {
  for (const stream of [false, true]) {
    it(`are kept with the answer, so the next request's result for one is taken and the model sees the call as made (${stream ? "streamed" : "JSON"})`, async () => {
      const s = await newSession();
      const mockId = `custom-call-${stream}-${s.sessionId}`;
      const first = await turn(s, "c1", [{ role: "user", content: asking(mockId) }], { stream });
      expect(first.kind).toBe(stream ? "stream" : "json");
      // The caller's copy of a stream is read to its end, as a client does; the session records its own copy.
      if (first.kind === "stream") await new Response(first.body).text();
      await eventually(async () => (await listed(s)).length === 2);
      const answer = (await listed(s))[1]!;
      expect(answer).toMatchObject({ role: "assistant", turn_status: "succeeded", tool_calls: [{ id: expect.any(String), ...CALL }] });
      const callId = answer.tool_calls![0]!.id;
      const second = await turn(s, "c2", [{ role: "tool", tool_call_id: callId, content: "42" }]);
      expect(second).toMatchObject({ kind: "json", completion: { choices: [{ message: { content: "42" } }] } });
      const sent = (await upstreamLog(mockId)).at(-1)!.body.messages as { role: string; tool_calls?: unknown[]; tool_call_id?: string }[];
      expect(sent.map((m) => [m.role, m.tool_calls ?? m.tool_call_id ?? null])).toEqual([
        ["user", null],
        ["assistant", [{ id: callId, ...CALL }]],
        ["tool", callId],
      ]);
    });
  }

  it("sent to cio/auto, are refused 400 unsupported_tool_type as without a session, and leave the conversation as it was", async () => {
    const s = await newSession();
    const refused = await turn(s, "a1", [{ role: "user", content: "how many orders?" }], { model: "cio/auto" });
    expect(refused).toMatchObject({ kind: "error", error: { status: 400, error: { code: "unsupported_tool_type", param: "tools[0].type" } } });
    const mockId = `after-auto-${s.sessionId}`;
    expect(await turn(s, "a2", [{ role: "user", content: withDirective("hello", { id: mockId, text: "hi" }) }])).toMatchObject({ kind: "json" });
    expect((await upstreamLog(mockId)).at(-1)!.body.messages.map((m) => m.role)).toEqual(["user"]);
  });
});
