/**
 * A turn cut off by a reset of its session (a deploy, an eviction mid-turn, a crash) gives its concurrency
 * slot back when the next incarnation finds it orphaned: the pipeline that would have settled its lease died
 * with the old one, and the slot otherwise stayed taken until the lease expired (CIO_LEASE_TTL_MS).
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { SessionDO } from "../../../durable-objects/session/index.js";
import { limiterStub } from "../../../lib/do-names.js";
import { withDirective } from "../../../test/mock-upstream/directive.js";
import { connect, e, eventually, newSession, sessionStub, type TestSession } from "./session-fixtures.js";

/** Long enough that nothing frees the slot by itself while the test runs. */
const LEASE_TTL_MS = 900_000;
const SLOW = withDirective("hi", { text: "alpha beta gamma delta epsilon", chunkDelayMs: 400 });

const turnStatus = (stub: DurableObjectStub, id: string) =>
  runInDurableObject(stub, (_o: SessionDO, state) => state.storage.sql.exec<{ status: string }>("SELECT status FROM turns WHERE id = ?", id).toArray()[0]?.status);

/** What a deploy or an eviction does to work in flight; a reset breaks the stubs that reached the old incarnation. */
async function reset(s: TestSession): Promise<TestSession> {
  await expect(runInDurableObject(s.stub, (_o: SessionDO, state) => state.abort("evicted"))).rejects.toThrow();
  return { ...s, stub: sessionStub(s.tenantId, s.sessionId) };
}

describe("a session turn cut off by a reset of its object", () => {
  it("a socket turn: the alarm fails it and frees its slot, so the key (limit 1) can start the next turn", async () => {
    const s = await newSession();
    const limits = { keyConcurrency: 1, leaseTtlMs: LEASE_TTL_MS };
    const a = await connect(s, limits);
    a.send({ type: "chat", id: "cut", content: SLOW });
    await a.waitFor((f) => f.type === "delta");
    const limiter = limiterStub(e.RATE_LIMITER, s.tenantId);
    expect((await limiter.snapshot("k-test")).keyInFlight).toBe(1);
    const fresh = await reset(s);
    await runDurableObjectAlarm(fresh.stub);
    expect(await turnStatus(fresh.stub, "cut")).toBe("failed");
    await eventually(async () => (await limiter.snapshot("k-test")).keyInFlight === 0);
    const b = await connect(fresh, limits);
    b.send({ type: "chat", id: "next", content: withDirective("again", { text: "done" }) });
    expect(await b.waitFor((f) => (f.type === "message" && f.role === "assistant") || f.type === "error")).toMatchObject({ type: "message", id: "next" });
    a.close();
    b.close();
  });

  it("an HTTP chat completion with session_id: the next call to the session frees the slot the gateway reserved", async () => {
    const s = await newSession();
    const limiter = limiterStub(e.RATE_LIMITER, s.tenantId);
    const spec = { keyId: "k-http", keyRpm: 1000, keyConcurrency: 1, tenantRpm: 1000, tenantConcurrency: 100, dailyTokenBudget: null, leaseTtlMs: LEASE_TTL_MS };
    const r = (await limiter.reserve(spec)) as { ok: true; leaseId: string };
    expect(r.ok).toBe(true);
    const body = { model: "mock-model", stream: true, session_id: s.sessionId, messages: [{ role: "user", content: SLOW }] };
    const reply = (await s.stub.chatCompletion({ requestId: "req-http", tenantId: s.tenantId, keyId: "k-http", leaseId: r.leaseId, body })) as { kind: string; body: ReadableStream };
    expect(reply.kind).toBe("stream");
    const reader = reply.body.getReader();
    await reader.read();
    expect(await limiter.reserve(spec)).toMatchObject({ ok: false, reason: "key_concurrency" });
    const fresh = await reset(s);
    // The gateway's copy of the stream breaks; it leaves a session turn's slot to the session.
    await reader.read().catch(() => undefined);
    // Any call wakes the new incarnation, which fails the orphan as it starts (no alarm needed).
    expect(await fresh.stub.info(s)).toMatchObject({ id: s.sessionId });
    expect(await turnStatus(fresh.stub, "req-http")).toBe("failed");
    await eventually(async () => (await limiter.snapshot("k-http")).keyInFlight === 0);
    expect(await limiter.reserve(spec)).toMatchObject({ ok: true });
  });
});
