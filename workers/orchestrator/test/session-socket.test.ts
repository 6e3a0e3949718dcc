import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { SessionDO } from "../../../durable-objects/session/index.js";
import { limiterStub } from "../../../lib/do-names.js";
import { publishToSession } from "../../../lib/protocol/index.js";
import { SESSION_PING } from "../../../lib/protocol/session.js";
import { withDirective } from "../../../test/mock-upstream/directive.js";
import { SessionClient, textOf } from "./session-client.js";
import { connect, e, eventually, newSession, newTenant, upgrade, upstreamLog } from "./session-fixtures.js";

const sessionsNs = e.SESSIONS as unknown as DurableObjectNamespace;
const ANSWER = "one two three four five six seven eight";
const chat = (id: string, d: Record<string, unknown> = {}) => ({ type: "chat", id, content: withDirective("hello", { text: ANSWER, ...d }) });
const done = (id: string) => (f: { type: string; id?: string; role?: unknown }) => f.type === "message" && f.id === id && f.role === "assistant";

describe("SessionDO over WebSocket", () => {
  it("says ready, streams a turn as deltas that reassemble the answer, with strictly increasing seqs", async () => {
    const s = await newSession();
    const c = await connect(s);
    expect(c.frames[0]).toEqual({ type: "ready", session_id: s.sessionId, last_seq: 0 });
    c.send(chat("t1"));
    const final = await c.waitFor(done("t1"));
    expect(final.content).toBe(ANSWER);
    expect(textOf(c.frames, "t1")).toBe(ANSWER);
    const seqs = c.events().map((f) => f.seq!);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    expect(c.events()[0]).toMatchObject({ type: "message", id: "t1", role: "user" });
    const page = await s.stub.messages(s, 0, 10);
    expect(page!.data.map((m) => [m.role, m.id])).toEqual([["user", "t1"], ["assistant", "t1"]]);
    expect(page!.data[1]!.content).toBe(ANSWER);
    c.close();
  });

  it("sends the session's history to the model on the next turn", async () => {
    const s = await newSession();
    const c = await connect(s);
    c.send({ type: "chat", id: "h1", content: withDirective("my name is Ada", { id: `hist-${s.sessionId}-1`, text: "Hello Ada" }) });
    await c.waitFor(done("h1"));
    c.send({ type: "chat", id: "h2", content: withDirective("what is my name?", { id: `hist-${s.sessionId}-2` }) });
    await c.waitFor(done("h2"));
    const [req] = await upstreamLog(`hist-${s.sessionId}-2`);
    expect(req!.body.messages.map((m) => m.role)).toEqual(["user", "assistant", "user"]);
    expect(req!.body.messages[1]!.content).toBe("Hello Ada");
    c.close();
  });

  it("sends at most CIO_SESSION_HISTORY_MAX_CHARS of history, the newest kept: a pasted document does not ride along for good", async () => {
    const s = await newSession();
    const turn = (requestId: string, content: string) =>
      s.stub.chatCompletion({ requestId, tenantId: s.tenantId, keyId: "k-test", body: { model: "mock-model", session_id: s.sessionId, messages: [{ role: "user", content }] } });
    const doc = "x".repeat(600_000);
    for (const id of ["d1", "d2"]) expect(await turn(id, withDirective(doc, { text: "noted" }))).toMatchObject({ kind: "json" });
    await turn("d3", withDirective("and now?", { id: `hist-chars-${s.sessionId}` }));
    const [req] = await upstreamLog(`hist-chars-${s.sessionId}`);
    const sent = req!.body.messages;
    // The second document and its answer went along with the question; the first document did not, nor its
    // answer (a conversation does not open with an answer).
    expect(sent.map((m) => m.role)).toEqual(["user", "assistant", "user"]);
    expect(sent[0]!.content).toContain(doc);
    expect(sent.reduce((n, m) => n + m.content.length, 0)).toBeLessThan(1_000_000 + 1_000);

    // A message that alone nearly fills the budget, and its answer: the answer alone would be left, and a
    // conversation does not open with an answer.
    await turn("d4", withDirective("y".repeat(999_900), { text: "a".repeat(200) }));
    await turn("d5", withDirective("last?", { id: `hist-lone-${s.sessionId}` }));
    const [lone] = await upstreamLog(`hist-lone-${s.sessionId}`);
    expect(lone!.body.messages.map((m) => m.role)).toEqual(["user"]);
  }, 60_000);

  it("every live socket on the session sees the same events in the same order", async () => {
    const s = await newSession();
    const a = await connect(s);
    const b = await connect(s);
    b.send({ type: "resume", after_seq: 0 });
    a.send(chat("t1"));
    await a.waitFor(done("t1"));
    await b.waitFor(done("t1"));
    expect(b.events()).toEqual(a.events());
    a.close();
    b.close();
  });

  it("a socket dropped mid-stream and replaced by one that resumes gets every event exactly once, in order", async () => {
    const s = await newSession();
    const a = await connect(s);
    a.send(chat("t1", { chunkDelayMs: 60 }));
    await a.waitFor((f) => f.type === "delta" && (f.text as string).startsWith("three"));
    a.close();
    const lastSeen = a.events().at(-1)!.seq!;
    const b = await connect(s);
    b.send({ type: "resume", after_seq: lastSeen });
    await b.waitFor(done("t1"));
    const seqs = [...a.events(), ...b.events()].map((f) => f.seq!);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    expect(textOf([...a.events(), ...b.events()], "t1")).toBe(ANSWER);
    b.close();
  });

  it("resume is only a socket's first frame, and not beyond the log", async () => {
    const s = await newSession();
    const c = await connect(s);
    c.send({ type: "resume", after_seq: 5 });
    await c.waitFor((f) => f.type === "error" && f.code === "invalid_seq");
    c.send({ type: "resume", after_seq: 0 });
    c.send({ type: "resume", after_seq: 0 });
    await c.waitFor((f) => f.type === "error" && f.code === "already_live");
    c.close();
  });

  it("cancel stops the turn and the upstream call", async () => {
    const s = await newSession();
    const c = await connect(s);
    const mockId = `cancel-${s.sessionId}`;
    c.send(chat("t1", { id: mockId, chunkDelayMs: 300 }));
    await c.waitFor((f) => f.type === "delta");
    c.send({ type: "cancel", id: "t1" });
    const err = await c.waitFor((f) => f.type === "error" && f.id === "t1");
    expect(err).toMatchObject({ code: "cancelled", seq: expect.any(Number) });
    await eventually(async () => (await upstreamLog(mockId))[0]?.aborted === true);
    expect(c.frames.some(done("t1"))).toBe(false);
    c.send({ type: "cancel", id: "t1" });
    await c.waitFor((f) => f.type === "error" && f.code === "unknown_turn");
    c.close();
  });

  it("an upstream failure ends the turn with a logged error event; a second turn while one runs is refused", async () => {
    const s = await newSession();
    const c = await connect(s);
    c.send(chat("slow", { chunkDelayMs: 100 }));
    c.send(chat("t2"));
    await c.waitFor((f) => f.type === "error" && f.id === "t2" && f.code === "turn_in_progress");
    await c.waitFor(done("slow"));
    c.send(chat("bad", { status: 400, errorMessage: "bad things" }));
    const err = await c.waitFor((f) => f.type === "error" && f.id === "bad");
    expect(err).toMatchObject({ seq: expect.any(Number), message: expect.stringContaining("bad things") });
    c.send(chat("slow"));
    await c.waitFor((f) => f.type === "error" && f.code === "duplicate_turn");
    c.close();
  });

  it("rejects frames that are not JSON or not in the protocol, and keeps the socket open", async () => {
    const s = await newSession();
    const c = await connect(s);
    c.send("not json");
    c.send({ type: "chat", id: "x" });
    c.send({ type: "shout" });
    await eventually(() => c.frames.filter((f) => f.type === "error" && f.code === "invalid_frame").length === 3);
    expect(c.closed).toBeNull();
    c.send({ type: "ping", extra: 1 });
    c.send(JSON.stringify({ type: "ping" }, null, 1));
    await c.waitFor((f) => f.type === "pong");
    c.close();
  });

  it("answers an oversized frame with an error frame and close code 1009", async () => {
    const s = await newSession();
    const c = await connect(s);
    c.send({ type: "chat", id: "big", content: "x".repeat(5000) });
    await c.waitFor((f) => f.type === "error" && f.code === "frame_too_large");
    expect((await c.waitClosed()).code).toBe(1009);
    expect(await s.stub.messages(s, 0, 10)).toEqual({ data: [], has_more: false });
  });

  it("answers the exact ping frame from the runtime (auto-response), without running the object's handler", async () => {
    const s = await newSession();
    const c = await connect(s);
    c.send(SESSION_PING);
    await c.waitFor((f) => f.type === "pong");
    const stamped = await runInDurableObject(s.stub, (_o: SessionDO, state) => state.getWebSockets().map((ws) => state.getWebSocketAutoResponseTimestamp(ws) !== null));
    expect(stamped).toEqual([true]);
    c.close();
  });

  it("limits sockets per session and per tenant with clear codes, and frees them on close", async () => {
    const tenantId = await newTenant();
    const s1 = await newSession(tenantId);
    const s2 = await newSession(tenantId);
    const open = [await connect(s1), await connect(s1), await connect(s1)];
    const refused = await upgrade(s1);
    expect(refused.status).toBe(429);
    expect(await refused.json()).toMatchObject({ error: { code: "session_socket_limit", type: "rate_limit_error" } });
    open.push(await connect(s2));
    const tenantRefused = await upgrade(s2);
    expect(tenantRefused.status).toBe(429);
    expect(await tenantRefused.json()).toMatchObject({ error: { code: "tenant_socket_limit" } });
    open[0]!.close();
    await eventually(async () => (await upgrade(s2).then((r) => (r.status === 101 ? (open.push(SessionClient.from(r)), true) : false))));
    for (const c of open) c.close();
  });

  it("closes a socket that stayed idle past CIO_SESSION_IDLE_S", async () => {
    const s = await newSession();
    const idle = await connect(s);
    await runInDurableObject(s.stub, (_o: SessionDO, state) => {
      for (const ws of state.getWebSockets()) ws.serializeAttachment({ ...(ws.deserializeAttachment() as object), lastSeen: 0 });
    });
    expect(await runDurableObjectAlarm(s.stub)).toBe(true);
    await idle.waitFor((f) => f.type === "error" && f.code === "idle_timeout");
    expect((await idle.waitClosed()).code).toBe(1000);
    expect(await s.stub.info(s)).not.toBeNull();
  });

  it("a socket kept open by pings for longer than the session's TTL, then idle, closes and leaves the session alive", async () => {
    const s = await newSession();
    const idle = await connect(s);
    // Last real frame long ago (pings touch nothing); last heard just past the idle limit (300 s).
    await runInDurableObject(s.stub, (_o: SessionDO, state) => {
      state.storage.sql.exec("UPDATE meta SET last_active_at = 0");
      for (const ws of state.getWebSockets()) ws.serializeAttachment({ ...(ws.deserializeAttachment() as object), lastSeen: Date.now() - 301_000 });
    });
    expect(await runDurableObjectAlarm(s.stub)).toBe(true);
    expect((await idle.waitClosed()).code).toBe(1000);
    const info = await s.stub.info(s);
    expect(info).not.toBeNull();
    expect(info!.last_active_at).toBeGreaterThan(Date.now() - 310_000);
  });

  it("admits each turn against the key's limits and the tenant's budget, and settles its slot when it ends", async () => {
    const s = await newSession();
    const limiter = limiterStub(e.RATE_LIMITER, s.tenantId);
    const c = await connect(s, { keyConcurrency: 1 });
    c.send(chat("t1"));
    await c.waitFor(done("t1"));
    await eventually(async () => (await limiter.snapshot("k-test")).keyInFlight === 0);
    expect((await limiter.snapshot("k-test")).tokensToday).toBeGreaterThan(0);
    const broke = await connect(s, { dailyTokenBudget: 1 });
    broke.send(chat("t2"));
    expect(await broke.waitFor((f) => f.type === "error" && f.id === "t2")).toMatchObject({ code: "budget_exceeded" });
    expect(broke.frames.some((f) => f.type === "message" && f.id === "t2")).toBe(false);
    const missing = await s.stub.fetch("https://session.internal/ws", { headers: { upgrade: "websocket", "x-cio-tenant-id": s.tenantId, "x-cio-session-id": s.sessionId } });
    expect(missing.status).toBe(400);
    c.close();
    broke.close();
  });

  it("relays task and council events published over RPC, stamped with the next seq", async () => {
    const s = await newSession();
    const c = await connect(s);
    c.send({ type: "resume", after_seq: 0 });
    const r = await publishToSession(sessionsNs, s.tenantId, s.sessionId, { type: "task", task_id: "tk1", status: "running", progress: 0.5 });
    expect(r).toEqual({ seq: 1 });
    expect(await c.waitFor((f) => f.type === "task")).toEqual({ type: "task", task_id: "tk1", status: "running", progress: 0.5, seq: 1 });
    const r2 = await publishToSession(sessionsNs, s.tenantId, s.sessionId, { type: "council", council_id: "c1", status: "consensus", decision: "buy" });
    expect(r2).toEqual({ seq: 2 });
    await c.waitFor((f) => f.type === "council" && f.seq === 2);
    expect(await publishToSession(sessionsNs, await newTenant(), s.sessionId, { type: "task", task_id: "x", status: "queued", progress: 0 })).toBeNull();
    // The object validates what it is given, whoever calls it.
    await runInDurableObject(s.stub, async (o: SessionDO) => {
      await expect(o.publish(s, { type: "task", task_id: "", status: "queued", progress: 2 })).rejects.toThrow();
      // Nor does it take events for a session it is not, whatever reached it.
      expect(await o.publish({ tenantId: await newTenant(), sessionId: s.sessionId }, { type: "task", task_id: "x", status: "queued", progress: 0 })).toBeNull();
      expect(await o.publish({ tenantId: s.tenantId, sessionId: "sess_other" }, { type: "task", task_id: "x", status: "queued", progress: 0 })).toBeNull();
    });
    expect((await s.stub.info(s))!.last_seq).toBe(2);
    c.close();
  });
});
