/** A `cio/council` chat whose council fails answers with an error that says why, never a finished completion. */
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { ChatReply } from "../../../lib/protocol/index.js";
import { released } from "../../../lib/rpc.js";
import { settleCall } from "../src/usage.js";
import { DB, get, rows, says, scripted, tenant, when } from "./council-helpers.js";
import { connect, e, newSession } from "./session-fixtures.js";

const chat = (x: unknown) => released((exports as unknown as { default: { chat(x: unknown): Promise<ChatReply> } }).default.chat(x));
const call = (tenantId: string, body: Record<string, unknown>) => ({ requestId: `req-${crypto.randomUUID().slice(0, 8)}`, tenantId, keyId: "k1", body: { model: "cio/council", ...body } });
const PANEL = ["analyst", "skeptic", "pragmatist"];
/** Every assistant of the default panel meets an upstream that fails. */
const failing = (question: string) => scripted(question, PANEL.map((who) => when(who, null, "", { status: 500 })));
/** Every assistant would answer, if its call were admitted. */
const answering = (question: string) => scripted(question, PANEL.map((who) => when(who, null, says("Yes"))));
const FAILED = /^Council (chat-\S+) failed: no assistant could answer in round 1: The model upstream failed with HTTP 500\b.* See GET \/v1\/councils\/\1\.$/;

function failure(reply: ChatReply) {
  if (reply.kind !== "error") throw new Error(`expected an error, got ${JSON.stringify(reply)}`);
  return { status: reply.error.status, headers: reply.error.headers ?? {}, ...reply.error.error, councilId: reply.error.error.message.split(" ")[1]! };
}

describe("a cio/council chat whose council fails", () => {
  it("answers 502 council_failed naming the council and why, and the council shows the failure without the error's class", async () => {
    const t = await tenant();
    const f = failure(await chat(call(t, { messages: [{ role: "user", content: failing("Will it fail?") }] })));
    // Not to be retried by the SDKs: each retry would open, and pay for, another council.
    expect(f).toMatchObject({ status: 502, type: "upstream_error", code: "council_failed", headers: { "x-should-retry": "false" }, message: expect.stringMatching(FAILED) });
    expect(f.message).not.toContain("ApiError");
    const view = await get(t, f.councilId);
    expect(view).toMatchObject({ kind: "ok", body: { status: "failed", error_code: "council_failed", error: expect.stringMatching(/^no assistant could answer in round 1: The model upstream failed/) } });
    if (view.kind !== "ok") return;
    for (const p of view.body.rounds[0]!.positions) expect(p).toMatchObject({ error: expect.stringMatching(/^The model upstream failed/), error_code: "upstream_error" });
    expect(await rows("SELECT note FROM council_decisions WHERE tenant_id = ? AND council_id = ? AND kind = 'failure'", t, f.councilId)).toEqual([{ note: view.body.error }]);
  });

  it("answers 429 budget_exceeded, not to be retried, when the tenant's daily budget ran out", async () => {
    const t = await tenant();
    await DB().prepare("UPDATE tenants SET daily_token_budget = 10 WHERE id = ?").bind(t).run();
    await settleCall(e as never, t, undefined, "mock-model", { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 });
    const f = failure(await chat(call(t, { messages: [{ role: "user", content: answering("Spent?") }] })));
    expect(f).toMatchObject({ status: 429, code: "budget_exceeded", headers: { "x-should-retry": "false" }, message: expect.stringMatching(/^Council chat-\S+ failed: .*daily token budget.* See GET \/v1\/councils\/chat-/) });
    expect(await get(t, f.councilId)).toMatchObject({ kind: "ok", body: { status: "failed", error_code: "budget_exceeded" } });
  });

  it("answers 403 tenant_suspended when the tenant was suspended", async () => {
    const t = await tenant();
    await DB().prepare("UPDATE tenants SET status = 'suspended' WHERE id = ?").bind(t).run();
    const f = failure(await chat(call(t, { messages: [{ role: "user", content: answering("Suspended?") }] })));
    expect(f).toMatchObject({ status: 403, type: "permission_error", code: "tenant_suspended", message: expect.stringMatching(/^Council chat-\S+ failed: .*suspended/) });
    expect(await get(t, f.councilId)).toMatchObject({ kind: "ok", body: { status: "failed", error_code: "tenant_suspended" } });
  });

  it("streams the rounds, then ends with the error event instead of a finished answer", async () => {
    const t = await tenant();
    const reply = await chat(call(t, { stream: true, stream_options: { include_usage: true }, messages: [{ role: "user", content: failing("Streamed failure?") }] }));
    if (reply.kind !== "stream") throw new Error(`expected a stream, got ${JSON.stringify(reply)}`);
    const events = (await new Response(reply.body).text()).split("\n\n").filter(Boolean);
    const chunks = events.slice(0, -1).map((b) => JSON.parse(b.slice(6)) as { choices: { delta: { content?: string }; finish_reason: string | null }[] });
    const content = chunks.map((c) => c.choices[0]?.delta.content ?? "").join("");
    expect(content).toMatch(/^Council chat-\S+: 3 assistants, up to 3 rounds\.\nRound 1: no votes; no single leader \(needs 50%\)\.\n$/);
    expect(chunks.every((c) => c.choices[0]?.finish_reason == null)).toBe(true);
    expect(JSON.parse(events.at(-1)!.replace(/^data: /, ""))).toMatchObject({ error: { code: "council_failed", type: "upstream_error", message: expect.stringMatching(FAILED) } });
  });

  it("fails a session's turn with council_failed, and the session hears the council fail", async () => {
    const s = await newSession();
    const c = await connect(s);
    c.send({ type: "resume", after_seq: 0 });
    c.send({ type: "chat", id: "t1", model: "cio/council", content: failing("Failing in a session?") });
    const error = await c.waitFor((f) => f.type === "error" && (f as { id?: string }).id === "t1", 15_000);
    expect(error).toMatchObject({ code: "council_failed", message: expect.stringMatching(FAILED) });
    const heard = await c.waitFor((f) => f.type === "council" && (f as { status?: string }).status === "failed", 15_000);
    expect(heard).toMatchObject({ summary: expect.stringMatching(/^no assistant could answer in round 1: The model upstream failed/) });
    c.close();
  });
});
