/**
 * A session turn stopped while it runs — by a cancel frame, the watchdog, a delete — answers whoever waits on
 * it at once, and a delete that fails stops nothing. The turn admission of a socket frame fails visibly, and so
 * does a turn that cannot be recorded.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { RateLimiterDO } from "../../../durable-objects/rate-limiter/index.js";
import type { SessionDO } from "../../../durable-objects/session/index.js";
import { limiterStub } from "../../../lib/do-names.js";
import type { ChatReply } from "../../../lib/protocol/index.js";
import { withDirective } from "../../../test/mock-upstream/directive.js";
import { SessionClient } from "./session-client.js";
import { connect, e, eventually, LIMITS, newSession, upgrade, upstreamLog, type TestSession } from "./session-fixtures.js";

const ANSWER = "one two three four five six seven eight";
const turnStatus = (s: TestSession, id: string) =>
  runInDurableObject(s.stub, (_o: SessionDO, state) => state.storage.sql.exec<{ status: string }>("SELECT status FROM turns WHERE id = ?", id).toArray()[0]?.status);
const turnCount = (s: TestSession) => runInDurableObject(s.stub, (_o: SessionDO, state) => state.storage.sql.exec("SELECT * FROM turns").toArray().length);
const turnIds = (s: TestSession) =>
  runInDurableObject(s.stub, (_o: SessionDO, state) => state.storage.sql.exec<{ id: string }>("SELECT id FROM turns ORDER BY started_at, rowid").toArray().map((r) => r.id));
const httpTurn = (s: TestSession, requestId: string, d: Record<string, unknown>, extra: Record<string, unknown> = {}, leaseId?: string) =>
  s.stub.chatCompletion({
    requestId,
    tenantId: s.tenantId,
    keyId: "k-test",
    leaseId,
    body: { model: "mock-model", session_id: s.sessionId, messages: [{ role: "user", content: withDirective("hello", { text: ANSWER, ...d }) }], ...extra },
  }) as unknown as Promise<ChatReply>;

type Core = { limiter: (tenantId: string) => unknown; env: unknown };
/** Replaces the session's view of its tenant's limiter (or its env) until `restore` runs. */
async function patchCore(s: TestSession, patch: (core: Core) => void) {
  await runInDurableObject(s.stub, (o: SessionDO) => patch((o as unknown as { core: Core }).core));
}

/**
 * The session's limiter as it is, except that `method` first waits for `hold()` (a limiter answering late);
 * `late: "answer"` holds its answer instead, after the limiter has acted on the call.
 */
function holdLimiter(s: TestSession, method: "reserve" | "admitSocket", hold: () => Promise<unknown>, late: "call" | "answer" = "call") {
  return patchCore(s, (core) => {
    const real = core.limiter;
    core.limiter = (t: string) => {
      const l = real.call(core, t) as RateLimiterDO;
      const first = (m: typeof method) => (m === method && late === "call" ? hold() : Promise.resolve());
      const then = async <T>(m: typeof method, answer: T) => (m === method && late === "answer" && (await hold()), answer);
      return {
        reserve: async (x: never) => (await first("reserve"), l.reserve(x)),
        admitSocket: async (a: string, n: number) => (await first("admitSocket"), then("admitSocket", await l.admitSocket(a, n))),
        release: (id: string) => l.release(id),
        reportSockets: (a: string, n: number) => l.reportSockets(a, n),
      };
    };
  });
}

/** The session's next write of a message fails (once): a turn's recording breaks off half way. */
const failNextMessageWrite = (s: TestSession) =>
  runInDurableObject(s.stub, (o: SessionDO) => {
    const store = (o as unknown as { core: { store: { addMessage?: () => void } } }).core.store;
    store.addMessage = () => {
      delete store.addMessage;
      throw new Error("disk full");
    };
  });
const eventCount = (s: TestSession) => runInDurableObject(s.stub, (_o: SessionDO, state) => state.storage.sql.exec("SELECT * FROM events").toArray().length);

const limiterOf = (s: TestSession) => limiterStub(e.RATE_LIMITER as unknown as DurableObjectNamespace<RateLimiterDO>, s.tenantId);
const after = (ms: number) => () => new Promise((r) => setTimeout(r, ms));

describe("stopping a session turn that a chat completion waits on", () => {
  it("a cancel frame answers the waiting JSON call with 409 cancelled now, not when the model answers", async () => {
    const s = await newSession();
    const c = await connect(s);
    const mockId = `http-cancel-${s.sessionId}`;
    const pending = httpTurn(s, "h1", { id: mockId, delayMs: 20_000 });
    await eventually(async () => (await turnStatus(s, "h1")) === "running");
    c.send({ type: "cancel", id: "h1" });
    const reply = await pending;
    expect(reply).toMatchObject({ kind: "error", error: { status: 409, error: { code: "cancelled" } } });
    expect(await turnStatus(s, "h1")).toBe("cancelled");
    await c.waitFor((f) => f.type === "error" && f.id === "h1" && f.code === "cancelled");
    // The work behind the answer stops too: the model call is aborted, not left to run out its 20 s.
    await eventually(async () => (await upstreamLog(mockId))[0]?.aborted === true);
    c.close();
  });

  it("the watchdog answers a waiting JSON call with 504 turn_timeout and ends the turn, so its alarm does not fire again and again", async () => {
    const s = await newSession();
    const mockId = `http-timeout-${s.sessionId}`;
    const pending = httpTurn(s, "h2", { id: mockId, delayMs: 20_000 });
    await eventually(async () => (await turnStatus(s, "h2")) === "running");
    await runInDurableObject(s.stub, (_o: SessionDO, state) => void state.storage.sql.exec("UPDATE turns SET started_at = 0 WHERE id = 'h2'"));
    await runDurableObjectAlarm(s.stub);
    expect(await pending).toMatchObject({ kind: "error", error: { status: 504, error: { code: "turn_timeout" } } });
    expect(await turnStatus(s, "h2")).toBe("failed");
    await eventually(async () => (await upstreamLog(mockId))[0]?.aborted === true);
    // The next alarm is the session's expiry, far off, not another immediate one.
    const alarm = await runInDurableObject(s.stub, (_o: SessionDO, state) => state.storage.getAlarm());
    expect(alarm! - Date.now()).toBeGreaterThan(60_000);
  });

  it("while a turn runs, the alarm comes at least every CIO_SESSION_TURN_HEARTBEAT_S, so the object is not left without events", async () => {
    const s = await newSession();
    const mockId = `heartbeat-${s.sessionId}`;
    const pending = httpTurn(s, "hb", { id: mockId, delayMs: 1500 });
    await eventually(async () => (await turnStatus(s, "hb")) === "running");
    const alarm = await runInDurableObject(s.stub, (_o: SessionDO, state) => state.storage.getAlarm());
    expect(alarm! - Date.now()).toBeLessThanOrEqual(30_000);
    await pending;
  });

  it("a cancel ends the caller's stream with an error event and stops the upstream call", async () => {
    const s = await newSession();
    const c = await connect(s);
    const mockId = `http-stream-cancel-${s.sessionId}`;
    const reply = await httpTurn(s, "h3", { id: mockId, chunkDelayMs: 300 }, { stream: true });
    expect(reply.kind).toBe("stream");
    const reader = (reply as Extract<ChatReply, { kind: "stream" }>).body.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!text.includes('"content":"one')) text += (await reader.read()).value ?? "";
    c.send({ type: "cancel", id: "h3" });
    for (let r = await reader.read(); !r.done; r = await reader.read()) text += r.value;
    const last = text.trim().split("\n\n").at(-1)!;
    expect(JSON.parse(last.slice("data: ".length))).toMatchObject({ error: { code: "cancelled" } });
    expect(text).not.toContain("[DONE]");
    expect(await turnStatus(s, "h3")).toBe("cancelled");
    await eventually(async () => (await upstreamLog(mockId))[0]?.aborted === true);
    c.close();
  });
});

describe("deleting a session with a turn running", () => {
  it("a delete that fails (D1 down) leaves the running turn alone; it finishes and is recorded", async () => {
    const s = await newSession();
    const c = await connect(s);
    c.send({ type: "chat", id: "d1", content: withDirective("hello", { text: ANSWER, chunkDelayMs: 100 }) });
    await c.waitFor((f) => f.type === "delta" && f.id === "d1");
    await patchCore(s, (core) => {
      const env = core.env;
      core.env = { ...(env as object), DB: { prepare: () => { core.env = env; throw new Error("D1 unreachable"); } } };
    });
    expect(String(await s.stub.remove(s).then(() => null, (err: unknown) => err))).toMatch(/D1 unreachable/);
    const final = await c.waitFor((f) => f.type === "message" && f.id === "d1" && f.role === "assistant");
    expect(final.content).toBe(ANSWER);
    expect(await turnStatus(s, "d1")).toBe("succeeded");
    expect(c.frames.some((f) => f.type === "error")).toBe(false);
    // The delete, tried again, goes through.
    expect(await s.stub.remove(s)).toBe(true);
    expect(await s.stub.info(s)).toBeNull();
  });

  it("a delete tells the turn's clients why it ended before it closes their sockets", async () => {
    const s = await newSession();
    const c = await connect(s);
    c.send({ type: "chat", id: "d2", content: withDirective("hello", { text: ANSWER, chunkDelayMs: 300 }) });
    await c.waitFor((f) => f.type === "delta" && f.id === "d2");
    expect(await s.stub.remove(s)).toBe(true);
    await c.waitClosed();
    expect(c.frames.find((f) => f.type === "error" && f.id === "d2")).toMatchObject({ code: "session_deleted" });
  });

  it("a cancel sent while its turn is still being admitted stops it before it starts, and frees its slot", async () => {
    const s = await newSession();
    const limiter = limiterOf(s);
    const c = await connect(s);
    // The limiter answers slowly, so the cancel arrives while the reservation is on its way.
    await holdLimiter(s, "reserve", after(300));
    const id = `early-${s.sessionId}`;
    c.send({ type: "chat", id: "early", content: withDirective("hello", { id, text: ANSWER }) });
    c.send({ type: "cancel", id: "early" });
    expect(await c.waitFor((f) => f.type === "error" && f.id === "early")).toMatchObject({ code: "cancelled" });
    await new Promise((r) => setTimeout(r, 300));
    expect(c.frames.filter((f) => f.type === "message" || f.type === "delta")).toEqual([]);
    expect(await upstreamLog(id)).toEqual([]);
    expect(await turnCount(s)).toBe(0);
    await eventually(async () => (await limiter.snapshot("k-test")).keyInFlight === 0);
  });

  it("a socket still being admitted stays counted when another socket's close reports the session's count", async () => {
    const s = await newSession();
    const limiter = limiterOf(s);
    const first = await connect(s);
    await eventually(async () => (await limiter.openSockets()) === 1);
    // The limiter counts the second socket at once; its answer reaches the session after the first one closed.
    await holdLimiter(s, "admitSocket", after(400), "answer");
    const opening = upgrade(s);
    await eventually(async () => (await limiter.openSockets()) === 2);
    first.close();
    await first.waitClosed();
    const second = SessionClient.from(await opening);
    await second.waitFor((f) => f.type === "ready");
    await new Promise((r) => setTimeout(r, 100)); // every report of the close has landed
    expect(await limiter.openSockets()).toBe(1);
    second.close();
  });

  it("a socket whose admission was in flight while the session was deleted is refused (404), and not counted", async () => {
    const s = await newSession();
    const limiter = limiterOf(s);
    await holdLimiter(s, "admitSocket", after(300));
    const opening = upgrade(s);
    await new Promise((r) => setTimeout(r, 50));
    expect(await s.stub.remove(s)).toBe(true);
    const res = await opening;
    expect(res.status).toBe(404);
    expect(res.webSocket).toBeNull();
    await eventually(async () => (await limiter.openSockets()) === 0);
  });

  it("a chat frame admitted while a delete runs starts no turn in the wiped session, and frees its slot", async () => {
    const s = await newSession();
    const limiter = limiterOf(s);
    const c = await connect(s);
    // The reservation is held back until the session has been deleted.
    let deleted!: () => void;
    const gate = new Promise<void>((r) => (deleted = r));
    await holdLimiter(s, "reserve", () => gate);
    c.send({ type: "chat", id: "late", content: withDirective("hello", { text: ANSWER }) });
    await new Promise((r) => setTimeout(r, 50));
    expect(await s.stub.remove(s)).toBe(true);
    deleted();
    await c.waitClosed();
    await eventually(async () => (await limiter.snapshot("k-test")).keyInFlight === 0);
    expect(await turnCount(s)).toBe(0);
    expect(await s.stub.info(s)).toBeNull();
  });
});

describe("admitting a socket turn", () => {
  it("a limiter that cannot be reached is an error frame naming the turn; nothing is recorded and the same frame goes through after", async () => {
    const s = await newSession();
    const c = await connect(s);
    await patchCore(s, (core) => {
      const real = core.limiter;
      core.limiter = () => {
        core.limiter = real;
        return { reserve: () => Promise.reject(new Error("limiter unreachable")) };
      };
    });
    const frame = { type: "chat", id: "a1", content: withDirective("hello", { text: ANSWER }) };
    c.send(frame);
    expect(await c.waitFor((f) => f.type === "error" && f.id === "a1")).toMatchObject({ code: "service_unavailable" });
    expect(await turnCount(s)).toBe(0);
    c.send(frame);
    expect((await c.waitFor((f) => f.type === "message" && f.id === "a1" && f.role === "assistant")).content).toBe(ANSWER);
    c.close();
  });
});

describe("recording a turn", () => {
  it("a request id that a socket turn already took (clients choose both) gets a free turn id; the session takes this turn and the next", async () => {
    const s = await newSession();
    expect(await httpTurn(s, "r1", {})).toMatchObject({ kind: "json" });
    const last = (await s.stub.info(s))!.last_seq;
    // The id the session derives for a second "r1" (`r1.<last seq>`): a failed turn logs two events.
    const c = await connect(s);
    c.send({ type: "chat", id: `r1.${last + 2}`, content: withDirective("x", { status: 400, errorMessage: "nope" }) });
    await c.waitFor((f) => f.type === "error" && f.id === `r1.${last + 2}`);
    expect(await httpTurn(s, "r1", {})).toMatchObject({ kind: "json" });
    expect(await httpTurn(s, "r2", {})).toMatchObject({ kind: "json" });
    expect(await turnIds(s)).toEqual(["r1", `r1.${last + 2}`, `r1.${last + 2}.1`, "r2"]);
    c.close();
  });

  it("a turn whose recording fails half way stores nothing and is an OpenAI-shaped error with its slot settled; the session takes the next turn", async () => {
    const s = await newSession();
    const limiter = limiterOf(s);
    const lease = await limiter.reserve({ keyId: "k-test", ...LIMITS });
    await failNextMessageWrite(s);
    const reply = await httpTurn(s, "h1", {}, {}, lease.ok ? lease.leaseId : undefined);
    expect(reply).toMatchObject({ kind: "error", error: { status: 500, error: { type: "server_error", code: "turn_not_recorded", param: null } } });
    expect([await turnCount(s), await eventCount(s)]).toEqual([0, 0]);
    await eventually(async () => (await limiter.snapshot("k-test")).keyInFlight === 0);
    expect(await httpTurn(s, "h2", {})).toMatchObject({ kind: "json" });
  });

  it("a socket turn whose recording fails is an error frame naming it, its slot freed, nothing sent or stored; the same frame goes through after", async () => {
    const s = await newSession();
    const c = await connect(s);
    await failNextMessageWrite(s);
    const frame = { type: "chat", id: "w1", content: withDirective("hello", { text: ANSWER }) };
    c.send(frame);
    expect(await c.waitFor((f) => f.type === "error" && f.id === "w1")).toMatchObject({ code: "turn_not_recorded" });
    expect(c.events()).toEqual([]);
    expect([await turnCount(s), await eventCount(s)]).toEqual([0, 0]);
    await eventually(async () => (await limiterOf(s).snapshot("k-test")).keyInFlight === 0);
    c.send(frame);
    expect((await c.waitFor((f) => f.type === "message" && f.id === "w1" && f.role === "assistant")).content).toBe(ANSWER);
    expect(c.events()[0]).toMatchObject({ seq: 1, id: "w1", role: "user" });
    c.close();
  });
});

describe("a session expiring", () => {
  it("takes no turn while its D1 delete is on the way: the chat completion arriving then finds it gone and reaches no model", async () => {
    const s = await newSession();
    // Flags, not promises, cross between the test and the object: a promise resolved from the test would
    // run the object's continuation in the test's I/O context, which the runtime refuses.
    const flags = globalThis as unknown as { expiryDeleting?: boolean; expiryRelease?: boolean };
    flags.expiryDeleting = flags.expiryRelease = false;
    await runInDurableObject(s.stub, (o: SessionDO, state) => {
      state.storage.sql.exec("UPDATE meta SET last_active_at = 0");
      const core = (o as unknown as { core: Core }).core;
      const env = core.env as { DB: D1Database };
      // The index row's delete waits until released; every other statement runs as usual.
      const gated = (st: D1PreparedStatement): D1PreparedStatement =>
        new Proxy(st, {
          get: (t, p) => {
            const v = Reflect.get(t, p) as unknown;
            if (typeof v !== "function") return v;
            if (p === "bind") return (...a: unknown[]) => gated((v as (...x: unknown[]) => D1PreparedStatement).apply(t, a));
            return async (...a: unknown[]) => {
              flags.expiryDeleting = true;
              while (!flags.expiryRelease) await new Promise((r) => setTimeout(r, 10));
              return (v as (...x: unknown[]) => unknown).apply(t, a);
            };
          },
        });
      core.env = { ...env, DB: { ...env.DB, batch: env.DB.batch.bind(env.DB), prepare: (q: string) => (/^delete/i.test(q) ? gated(env.DB.prepare(q)) : env.DB.prepare(q)) } };
    });
    const alarm = runDurableObjectAlarm(s.stub);
    await eventually(() => flags.expiryDeleting === true);
    const mockId = `expiring-${s.sessionId}`;
    const turn = httpTurn(s, "late", { id: mockId });
    await new Promise((r) => setTimeout(r, 100));
    flags.expiryRelease = true;
    await alarm;
    expect(await turn).toMatchObject({ kind: "error", error: { status: 404, error: { code: "session_not_found" } } });
    expect(await upstreamLog(mockId)).toEqual([]);
    expect(await s.stub.info(s)).toBeNull();
  });
});
