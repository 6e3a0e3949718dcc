import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { SessionDO } from "../../../durable-objects/session/index.js";
import { limiterStub } from "../../../lib/do-names.js";
import { withDirective } from "../../../test/mock-upstream/directive.js";
import { textOf } from "./session-client.js";
import { connect, e, newSession, newTenant, sessionStub, upgrade, type TestSession } from "./session-fixtures.js";

const ANSWER = "alpha beta gamma delta epsilon zeta";
const indexRow = (tenantId: string, id: string) => e.DB.prepare("SELECT * FROM sessions WHERE tenant_id = ? AND id = ?").bind(tenantId, id).first();
const turnStatus = (stub: DurableObjectStub, id: string) =>
  runInDurableObject(stub, (_o: SessionDO, state) => state.storage.sql.exec<{ status: string }>("SELECT status FROM turns WHERE id = ?", id).toArray()[0]?.status);

/** The session's next call to its tenant's limiter fails (once), as an unreachable limiter would. */
const failNextReport = (s: TestSession) =>
  runInDurableObject(s.stub, (o: SessionDO) => {
    const core = (o as unknown as { core: { limiter?: (tenantId: string) => unknown } }).core;
    core.limiter = () => {
      delete core.limiter;
      return { reportSockets: () => Promise.reject(new Error("limiter unreachable")) };
    };
  });

describe("SessionDO lifecycle", () => {
  it("is created with its metadata and a D1 index row, and answers only to its own tenant", async () => {
    const s = await newSession();
    const info = await s.stub.info(s);
    expect(info).toMatchObject({ id: s.sessionId, object: "session", title: "test", model: "mock-model", last_seq: 0 });
    expect(info!.created_at).toBeGreaterThan(0);
    expect(await indexRow(s.tenantId, s.sessionId)).toMatchObject({ model: "mock-model", title: "test" });
    const other = { tenantId: await newTenant(), sessionId: s.sessionId };
    expect(await s.stub.info(other)).toBeNull();
    expect(await s.stub.messages(other, 0, 10)).toBeNull();
    expect(await s.stub.remove(other)).toBe(false);
    expect((await upgrade(s, other.tenantId)).status).toBe(404);
    expect(await s.stub.create({ ...s, title: null, model: "x" })).toBeNull();
  });

  it("delete removes its storage, its index row, and closes its sockets", async () => {
    const s = await newSession();
    const c = await connect(s);
    expect(await s.stub.remove(s)).toBe(true);
    expect(await c.waitClosed()).toMatchObject({ code: 1000, reason: "session deleted" });
    expect(await s.stub.info(s)).toBeNull();
    expect(await indexRow(s.tenantId, s.sessionId)).toBeNull();
    expect(await runInDurableObject(s.stub, (_o: SessionDO, state) => state.storage.sql.exec("SELECT * FROM events").toArray().length)).toBe(0);
  });

  it("a delete whose socket report fails asks again until the tenant's socket count is 0; the session stays gone", async () => {
    const s = await newSession();
    const limiter = limiterStub(e.RATE_LIMITER, s.tenantId);
    const c = await connect(s);
    expect(await limiter.openSockets()).toBe(1);
    await failNextReport(s);
    expect(await s.stub.remove(s)).toBe(true);
    await c.waitClosed();
    expect(await limiter.openSockets()).toBe(1);
    expect(await s.stub.info(s)).toBeNull();

    await runDurableObjectAlarm(s.stub);
    expect(await limiter.openSockets()).toBe(0);
    expect(await s.stub.info(s)).toBeNull();
    expect(await s.stub.messages(s, 0, 10)).toBeNull();
    expect((await upgrade(s)).status).toBe(404);
    // Nothing is left: no alarm, no marker.
    expect(await runDurableObjectAlarm(s.stub)).toBe(false);
    expect(await runInDurableObject(s.stub, (_o: SessionDO, state) => state.storage.sql.exec("SELECT * FROM deleted").toArray().length)).toBe(0);
  });

  it("its alarm deletes a session inactive for CIO_SESSION_TTL_S (storage and index row), and keeps an active one", async () => {
    const s = await newSession();
    expect(await runDurableObjectAlarm(s.stub)).toBe(true);
    expect(await s.stub.info(s)).not.toBeNull();
    await runInDurableObject(s.stub, (_o: SessionDO, state) => void state.storage.sql.exec("UPDATE meta SET last_active_at = 0"));
    expect(await runDurableObjectAlarm(s.stub)).toBe(true);
    expect(await s.stub.info(s)).toBeNull();
    expect(await indexRow(s.tenantId, s.sessionId)).toBeNull();
    expect(await runDurableObjectAlarm(s.stub)).toBe(false);
  });

  it("a turn whose answer throws ends failed, and the session takes the next turn", async () => {
    const s = await newSession();
    const call = (requestId: string, content: string) => ({
      requestId,
      tenantId: s.tenantId,
      keyId: "key-1",
      body: { model: "mock-model", session_id: s.sessionId, messages: [{ role: "user", content }] },
    });
    // A fault inside the pipeline (D1 failing while cio/auto loads the tenant's tools, say) surfaces as a throw.
    await runInDurableObject(s.stub, (o: SessionDO) => {
      const core = (o as unknown as { core: { answer: (c: unknown) => Promise<unknown> } }).core;
      const answer = core.answer;
      core.answer = () => {
        core.answer = answer;
        return Promise.reject(new Error("pipeline fault"));
      };
    });
    const failed = await s.stub.chatCompletion(call("r1", "first")).then(() => null, (e: unknown) => e);
    expect(String(failed)).toMatch(/pipeline fault/);
    expect(await turnStatus(s.stub, "r1")).toBe("failed");
    expect(await s.stub.chatCompletion(call("r2", withDirective("second", { text: "fine" })))).toMatchObject({ kind: "json" });
    expect(await turnStatus(s.stub, "r2")).toBe("succeeded");
  });

  it("history and the event log survive eviction; resume replays them all", async () => {
    const s = await newSession();
    const a = await connect(s);
    a.send({ type: "chat", id: "t1", content: withDirective("hi", { text: ANSWER }) });
    await a.waitFor((f) => f.type === "message" && f.role === "assistant");
    a.close();
    await evictDurableObject(s.stub);
    const page = await s.stub.messages(s, 0, 10);
    expect(page!.data.map((m) => m.content)).toEqual([withDirective("hi", { text: ANSWER }), ANSWER]);
    const b = await connect(s);
    b.send({ type: "resume", after_seq: 0 });
    await b.waitFor((f) => f.type === "message" && f.role === "assistant");
    expect(b.events()).toEqual(a.events());
    expect(textOf(b.events(), "t1")).toBe(ANSWER);
    b.close();
  });

  it("a turn cut off by a reset (eviction mid-turn) is marked failed with an error event, never left running", async () => {
    const s = await newSession();
    const a = await connect(s);
    a.send({ type: "chat", id: "cut", content: withDirective("hi", { text: ANSWER, chunkDelayMs: 400 }) });
    await a.waitFor((f) => f.type === "delta");
    expect(await turnStatus(s.stub, "cut")).toBe("running");
    // What an eviction does to work in flight: the object is reset, its pending I/O and promises dropped.
    await expect(runInDurableObject(s.stub, (_o: SessionDO, state) => state.abort("evicted"))).rejects.toThrow();
    // A reset breaks the stubs that reached the old incarnation; callers make new ones.
    const fresh = { ...s, stub: sessionStub(s.tenantId, s.sessionId) };
    // The watchdog alarm (set when the turn began) wakes the new incarnation, which finds the orphan.
    await runDurableObjectAlarm(fresh.stub);
    expect(await turnStatus(fresh.stub, "cut")).toBe("failed");
    const b = await connect(fresh);
    b.send({ type: "resume", after_seq: 0 });
    const err = await b.waitFor((f) => f.type === "error" && f.id === "cut");
    expect(err).toMatchObject({ code: "turn_interrupted", seq: expect.any(Number) });
    expect(b.events().some((f) => f.type === "message" && f.role === "assistant")).toBe(false);
    a.close();
    b.close();
  });

  it("the watchdog stops a turn that hangs past CIO_SESSION_TURN_TIMEOUT_S and marks it failed", async () => {
    const s = await newSession();
    const c = await connect(s);
    c.send({ type: "chat", id: "hang", content: withDirective("hi", { text: ANSWER, chunkDelayMs: 2000 }) });
    await c.waitFor((f) => f.type === "delta");
    await runInDurableObject(s.stub, (_o: SessionDO, state) => void state.storage.sql.exec("UPDATE turns SET started_at = 0 WHERE id = 'hang'"));
    await runDurableObjectAlarm(s.stub);
    const err = await c.waitFor((f) => f.type === "error" && f.id === "hang");
    expect(err.code).toBe("turn_timeout");
    expect(await turnStatus(s.stub, "hang")).toBe("failed");
    c.close();
  });
});
