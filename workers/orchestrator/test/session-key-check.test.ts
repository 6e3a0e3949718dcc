/**
 * A socket's API key is re-read from D1 once its check is due (CIO_SESSION_KEY_CHECK_S): a revoked key or a
 * suspended tenant is refused and the socket closed, whether the client sends frames or only listens (then
 * the next event, or the alarm, makes the check). The check time is moved into the past instead of waiting 30 s.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { SessionDO } from "../../../durable-objects/session/index.js";
import type { SocketState } from "../../../durable-objects/session/sockets.js";
import { limiterStub } from "../../../lib/do-names.js";
import { publishToSession } from "../../../lib/protocol/index.js";
import { SOCKET_HEADERS, type SocketLimits } from "../../../lib/protocol/session.js";
import { withDirective } from "../../../test/mock-upstream/directive.js";
import { SessionClient } from "./session-client.js";
import { e, eventually, LIMITS, newSession, type TestSession } from "./session-fixtures.js";

const sessionsNs = e.SESSIONS as unknown as DurableObjectNamespace;
const chat = (id: string) => ({ type: "chat", id, content: withDirective("hello", { text: `answer ${id}` }) });
const done = (id: string) => (f: { type: string; id?: string; role?: unknown }) => f.type === "message" && f.id === id && f.role === "assistant";

async function newKey(tenantId: string): Promise<string> {
  const id = `key_${crypto.randomUUID().replace(/-/g, "")}`;
  await e.DB.prepare("INSERT INTO api_keys (id, tenant_id, name, prefix, hash, scopes) VALUES (?, ?, 'test', 'sk-cio-test', ?, '[\"*\"]')").bind(id, tenantId, id).run();
  return id;
}

const revoke = (keyId: string) => e.DB.prepare("UPDATE api_keys SET revoked_at = ? WHERE id = ?").bind(Date.now(), keyId).run();

async function connectWith(s: TestSession, keyId: string, limits: SocketLimits = LIMITS): Promise<SessionClient> {
  const res = await s.stub.fetch("https://session.internal/ws", {
    headers: { upgrade: "websocket", [SOCKET_HEADERS.tenant]: s.tenantId, [SOCKET_HEADERS.session]: s.sessionId, [SOCKET_HEADERS.key]: keyId, [SOCKET_HEADERS.limits]: JSON.stringify(limits) },
  });
  const c = SessionClient.from(res);
  await c.waitFor((f) => f.type === "ready");
  return c;
}

/** Moves every socket's next key check to `at` (the past makes it due now). */
const checkDueAt = (s: TestSession, at: number) =>
  runInDurableObject(s.stub, (_o: SessionDO, state) => {
    for (const ws of state.getWebSockets()) ws.serializeAttachment({ ...(ws.deserializeAttachment() as SocketState), keyCheckDue: at });
  });
const checksDue = (s: TestSession) => runInDurableObject(s.stub, (_o: SessionDO, state) => state.getWebSockets().map((ws) => (ws.deserializeAttachment() as SocketState).keyCheckDue));
const limitsOf = (s: TestSession) => runInDurableObject(s.stub, (_o: SessionDO, state) => state.getWebSockets().map((ws) => (ws.deserializeAttachment() as SocketState).limits));
const liveness = (s: TestSession) => runInDurableObject(s.stub, (_o: SessionDO, state) => state.getWebSockets().map((ws) => (ws.deserializeAttachment() as SocketState).live));
const alarmAt = (s: TestSession) => runInDurableObject(s.stub, async (_o: SessionDO, state) => (await state.storage.getAlarm())!);
const turns = (s: TestSession) => runInDurableObject(s.stub, (_o: SessionDO, state) => state.storage.sql.exec<{ id: string }>("SELECT id FROM turns").toArray().map((r) => r.id));

describe("SessionDO re-checks a socket's API key", () => {
  it("reads D1 only once the check is due; then a revoked key's frame is refused and its socket closed with 4401", async () => {
    const s = await newSession();
    const keyId = await newKey(s.tenantId);
    const c = await connectWith(s, keyId);
    c.send(chat("t1"));
    await c.waitFor(done("t1"));

    await revoke(keyId);
    // Not due yet: the frame is answered without a D1 read (the hot path stays cheap).
    c.send(chat("t2"));
    await c.waitFor(done("t2"));

    await checkDueAt(s, Date.now() - 1);
    c.send(chat("t3"));
    expect(await c.waitFor((f) => f.type === "error" && f.code === "api_key_revoked")).not.toHaveProperty("seq");
    expect(await c.waitClosed()).toEqual({ code: 4401, reason: "api key revoked" });
    expect(await turns(s)).toEqual(["t1", "t2"]);
    expect(c.frames.some((f) => f.id === "t3" && f.type !== "error")).toBe(false);
  });

  it("the first check is due one interval after the socket opened; a key that still holds passes and is due again", async () => {
    const s = await newSession();
    const c = await connectWith(s, await newKey(s.tenantId));
    const [first] = await checksDue(s);
    expect(first! - Date.now()).toBeGreaterThan(20_000);
    expect(first! - Date.now()).toBeLessThanOrEqual(30_000);
    await checkDueAt(s, 0);
    c.send(chat("t1"));
    await c.waitFor(done("t1"));
    const [due] = await checksDue(s);
    expect(due! - Date.now()).toBeGreaterThan(20_000);
    expect(c.closed).toBeNull();
    c.close();
  });

  it("a check that finds the key valid takes its current limits: a budget set after the socket opened refuses its next turn", async () => {
    const s = await newSession();
    const keyId = await newKey(s.tenantId);
    const defaults = { keyRpm: 500, keyConcurrency: 40, tenantRpm: 2000, tenantConcurrency: 150 };
    // The tenant had no budget when the socket opened, so the gateway sent none.
    const c = await connectWith(s, keyId, { ...LIMITS, dailyTokenBudget: null, defaults });
    c.send(chat("t1"));
    await c.waitFor(done("t1"));
    const limiter = limiterStub(e.RATE_LIMITER, s.tenantId);
    await eventually(async () => (await limiter.snapshot(keyId)).tokensToday > 1);

    // An admin sets a budget below what was used today, and an rpm on the key.
    await e.DB.prepare("UPDATE tenants SET daily_token_budget = 1 WHERE id = ?").bind(s.tenantId).run();
    await e.DB.prepare("UPDATE api_keys SET rpm_limit = 7 WHERE id = ?").bind(keyId).run();
    await checkDueAt(s, Date.now() - 1);
    c.send(chat("t2"));
    expect(await c.waitFor((f) => f.type === "error" && f.id === "t2")).toMatchObject({ code: "budget_exceeded" });
    // Unset columns took the gateway's defaults, as its own key lookup resolves them.
    expect(await limitsOf(s)).toEqual([{ ...defaults, keyRpm: 7, dailyTokenBudget: 1, leaseTtlMs: LIMITS.leaseTtlMs }]);
    expect(await turns(s)).toEqual(["t1"]);
    expect(c.closed).toBeNull();
    c.close();
  });

  it("a socket that only listens is closed with 4403 once its tenant is suspended, as the next event reaches it", async () => {
    const s = await newSession();
    const keyId = await newKey(s.tenantId);
    const listener = await connectWith(s, keyId);
    listener.send({ type: "resume", after_seq: 0 });
    // The resume must be handled before the check is moved: handled later, it would run that check itself
    // while the tenant is still active and push the next one 30 s away (as seen once on a loaded CI machine).
    await eventually(async () => (await liveness(s)).every(Boolean));
    await checkDueAt(s, Date.now() - 1);
    await e.DB.prepare("UPDATE tenants SET status = 'suspended' WHERE id = ?").bind(s.tenantId).run();
    await publishToSession(sessionsNs, s.tenantId, s.sessionId, { type: "task", task_id: "tk1", status: "running", progress: 0.1 });
    await listener.waitFor((f) => f.type === "error" && f.code === "tenant_suspended");
    expect(await listener.waitClosed()).toEqual({ code: 4403, reason: "tenant suspended" });
  });

  it("a listening socket whose check is due gets no event until it passed: a revoked key's none of the next turn, a valid key's each once, in order", async () => {
    const s = await newSession();
    const [revoked, valid] = [await newKey(s.tenantId), await newKey(s.tenantId)];
    const listeners = [await connectWith(s, revoked), await connectWith(s, valid)];
    for (const l of listeners) l.send({ type: "resume", after_seq: 0 });
    await eventually(async () => (await liveness(s)).every(Boolean));
    await revoke(revoked);
    await checkDueAt(s, Date.now() - 1);
    // Another key's socket, its check not due, starts a turn: its first event is what makes the listeners' checks.
    const talker = await connectWith(s, await newKey(s.tenantId));
    talker.send(chat("secret"));
    await talker.waitFor(done("secret"));
    const [gone, kept] = listeners as [SessionClient, SessionClient];
    expect(await gone.waitClosed()).toEqual({ code: 4401, reason: "api key revoked" });
    expect(gone.frames.filter((f) => f.id === "secret")).toEqual([]);
    await kept.waitFor(done("secret"));
    expect(kept.events().map((f) => f.seq)).toEqual(talker.events().map((f) => f.seq));
    expect(kept.events().map((f) => f.seq)).toEqual([...kept.events().keys()].map((i) => i + 1));
    talker.close();
    kept.close();
  });

  it("the alarm comes by the earliest check due and makes it: a revoked key's socket that only listens is closed with no event", async () => {
    const s = await newSession();
    const [revoked, valid] = [await newKey(s.tenantId), await newKey(s.tenantId)];
    const [gone, kept] = [await connectWith(s, revoked), await connectWith(s, valid)];
    // Within one check interval (30 s), not the idle timeout (300 s): pings the runtime answers wake nothing.
    expect((await alarmAt(s)) - Date.now()).toBeLessThanOrEqual(30_000);
    await revoke(revoked);
    await checkDueAt(s, Date.now() - 1);
    expect(await runDurableObjectAlarm(s.stub)).toBe(true);
    expect(await gone.waitClosed()).toEqual({ code: 4401, reason: "api key revoked" });
    expect(kept.closed).toBeNull();
    expect(gone.events()).toEqual([]);
    // The valid key's check passed and is due again one interval on, and so is the alarm.
    const [due] = await checksDue(s);
    expect(due! - Date.now()).toBeGreaterThan(20_000);
    expect(await alarmAt(s)).toBeLessThanOrEqual(due!);
    kept.close();
  });

  it("closeSockets (the admin API's call) closes only the named key's sockets, and only for the owning tenant", async () => {
    const s = await newSession();
    const [k1, k2] = [await newKey(s.tenantId), await newKey(s.tenantId)];
    const a = await connectWith(s, k1);
    const b = await connectWith(s, k2);
    expect(await s.stub.closeSockets({ tenantId: "someone-else", sessionId: s.sessionId, reason: "api_key_revoked", keyId: k1 })).toBe(0);
    expect(await s.stub.closeSockets({ tenantId: s.tenantId, sessionId: s.sessionId, reason: "api_key_revoked", keyId: k1 })).toBe(1);
    expect((await a.waitClosed()).code).toBe(4401);
    b.send(chat("t1"));
    await b.waitFor(done("t1"));
    expect(b.closed).toBeNull();
    expect(await s.stub.closeSockets({ tenantId: s.tenantId, sessionId: s.sessionId, reason: "tenant_suspended" })).toBe(1);
    expect((await b.waitClosed()).code).toBe(4403);
  });
});
