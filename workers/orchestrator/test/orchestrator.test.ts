import { createExecutionContext, listDurableObjectIds } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { ChatReply } from "../../../lib/protocol/index.js";
import Orchestrator from "../src/index.js";
import type { OrchestratorEnv } from "../src/env.js";
import { chatInSession } from "../src/session-chat.js";
import type { RateLimiterDO } from "../../../durable-objects/rate-limiter/index.js";
import { limiterStub } from "../../../lib/do-names.js";

type Orch = { chat(x: unknown): Promise<ChatReply>; models(): Promise<{ id: string }[]>; health(): Promise<{ ok: boolean }> };
const orch = () => (exports as unknown as { default: Orch }).default;

describe("orchestrator RPC surface", () => {
  it("validates the call it receives: a service binding is still a boundary", async () => {
    const reply = await orch().chat({ requestId: "r1", tenantId: "t1", body: { model: "cio/auto", messages: [] } });
    expect(reply.kind).toBe("error");
    expect((reply as Extract<ChatReply, { kind: "error" }>).error).toMatchObject({ status: 400, error: { type: "invalid_request_error" } });
    // The slot the gateway reserved for a call that does not parse is freed all the same.
    const limiter = limiterStub((env as unknown as { RATE_LIMITER: DurableObjectNamespace<RateLimiterDO> }).RATE_LIMITER, "t1");
    const lease = (await limiter.reserve({ keyId: "k-bad", keyRpm: 100, keyConcurrency: 5, tenantRpm: 100, tenantConcurrency: 5, dailyTokenBudget: null, leaseTtlMs: 900_000 })) as { ok: true; leaseId: string };
    await orch().chat({ requestId: "r1b", tenantId: "t1", keyId: "k-bad", leaseId: lease.leaseId, body: { model: "cio/auto", messages: [] } });
    expect((await limiter.snapshot("k-bad")).keyInFlight).toBe(0);
  });

  it("lists its models and reports healthy dependencies", async () => {
    expect((await orch().models()).map((m) => m.id)).toEqual(["cio/auto", "cio/council", "mock-model"]);
    expect((await orch().health()).ok).toBe(true);
  });

  it("its deep health check asks every tool Worker, and names one that does not answer", async () => {
    const ec = createExecutionContext();
    // A tool Worker that is bound but down (undeployed, failing): the registry's snapshot just leaves it out.
    const down = { fetch: () => Promise.reject(new Error("down")), manifest: () => Promise.reject(new Error("no such Worker")) };
    const report = await new Orchestrator(ec, { ...(env as object), TOOL_BROKEN: down } as never).health();
    expect(report.ok).toBe(false);
    expect(report.checks.tool_workers).toMatchObject({ ok: false, error: expect.stringContaining("TOOL_BROKEN: Error: no such Worker") });
    expect(report.checks.tools).toMatchObject({ ok: true });
  });

  it("a chat completion naming an unknown session is a 404 on session_id, and wakes no session object", async () => {
    const sessions = (env as unknown as { SESSIONS: DurableObjectNamespace }).SESSIONS;
    const before = (await listDurableObjectIds(sessions)).length;
    // The gateway's reservation, handed over with the call: the refusal must free it.
    const limiter = limiterStub((env as unknown as { RATE_LIMITER: DurableObjectNamespace<RateLimiterDO> }).RATE_LIMITER, "t1");
    const lease = (await limiter.reserve({ keyId: "k-sess", keyRpm: 100, keyConcurrency: 5, tenantRpm: 100, tenantConcurrency: 5, dailyTokenBudget: null, leaseTtlMs: 900_000 })) as { ok: true; leaseId: string };
    expect((await limiter.snapshot("k-sess")).keyInFlight).toBe(1);
    const reply = await orch().chat({ requestId: "r3", tenantId: "t1", keyId: "k-sess", leaseId: lease.leaseId, body: { model: "mock-model", session_id: "sess_nope", messages: [{ role: "user", content: "hi" }] } });
    expect(reply).toMatchObject({ kind: "error", error: { status: 404, error: { param: "session_id", code: "session_not_found" } } });
    expect((await listDurableObjectIds(sessions)).length).toBe(before);
    expect((await limiter.snapshot("k-sess")).keyInFlight).toBe(0);
  });

  it("an unknown session is still a 404 when its slot cannot be freed (limiter unreachable), not a 500", async () => {
    const broken = { idFromName: (n: string) => n, get: () => ({ settle: () => Promise.reject(new Error("limiter unreachable")) }) };
    const call = { requestId: "r4", tenantId: "t1", keyId: "k1", leaseId: "lease-x", body: { model: "mock-model", session_id: "sess_nope", messages: [{ role: "user" as const, content: "hi" }] } };
    const reply = await chatInSession({ ...(env as unknown as OrchestratorEnv), RATE_LIMITER: broken as never }, call);
    expect(reply).toMatchObject({ kind: "error", error: { status: 404, error: { code: "session_not_found" } } });
  });

  it("answers a passthrough call with the upstream's time reported separately", async () => {
    await (env as unknown as { DB: D1Database }).DB.prepare("INSERT OR IGNORE INTO tenants (id, name) VALUES ('t1', 'one')").run();
    const reply = await orch().chat({ requestId: "r2", tenantId: "t1", keyId: "k1", body: { model: "mock-model", messages: [{ role: "user", content: "hi" }] } });
    expect(reply.kind).toBe("json");
    expect(reply.upstreamMs).toBeGreaterThanOrEqual(0);
  });
});
