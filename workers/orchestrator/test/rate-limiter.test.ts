import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { RateLimiterDO } from "../../../durable-objects/rate-limiter/index.js";
import { SlidingWindow, WINDOW_MS, type ReserveRequest } from "../../../durable-objects/rate-limiter/limits.js";
import { rateLimiterName, stubFor } from "../../../lib/do-names.js";
import type { OrchestratorEnv } from "../src/env.js";
import { settleCall } from "../src/usage.js";

const e = env as unknown as OrchestratorEnv;
const limiter = () => stubFor(e.RATE_LIMITER, rateLimiterName(`t-${crypto.randomUUID()}`));
const spec = (over: Partial<ReserveRequest> = {}): ReserveRequest => ({
  keyId: "k1",
  keyRpm: 100,
  keyConcurrency: 100,
  tenantRpm: 1000,
  tenantConcurrency: 1000,
  dailyTokenBudget: null,
  leaseTtlMs: 60_000,
  ...over,
});

describe("SlidingWindow", () => {
  it("counts exactly the admissions of the last minute across compactions of a long log", () => {
    const w = new SlidingWindow();
    const times: number[] = [];
    for (let t = 0; t < 3 * WINDOW_MS; t += 7) {
      w.add(t);
      times.push(t);
      if (t % 301 === 0) {
        expect(w.count(t)).toBe(times.filter((x) => x > t - WINDOW_MS).length);
        expect(w.retryAfter(t)).toBe(Math.max(1, times.find((x) => x > t - WINDOW_MS)! + WINDOW_MS - t));
      }
    }
    expect(w.count(10 * WINDOW_MS)).toBe(0);
    expect(w.retryAfter(10 * WINDOW_MS)).toBe(0);
  });
});

describe("RateLimiterDO", () => {
  it("slides its window: a slot frees exactly one minute after the oldest admission", async () => {
    const stub = limiter();
    await runInDurableObject(stub, (o: RateLimiterDO) => {
      const t0 = 1_000_000;
      expect(o.reserve(spec({ keyRpm: 2 }), t0).ok).toBe(true);
      expect(o.reserve(spec({ keyRpm: 2 }), t0 + 10_000).ok).toBe(true);
      const denied = o.reserve(spec({ keyRpm: 2 }), t0 + 20_000);
      expect(denied).toMatchObject({ ok: false, reason: "key_rpm", retryAfterMs: 40_000 });
      expect(o.reserve(spec({ keyRpm: 2 }), t0 + 60_001).ok).toBe(true);
    });
  });

  it("keys have separate windows; the tenant window counts them all", async () => {
    const stub = limiter();
    await runInDurableObject(stub, (o: RateLimiterDO) => {
      const now = 5_000_000;
      expect(o.reserve(spec({ keyId: "a", keyRpm: 1, tenantRpm: 2 }), now).ok).toBe(true);
      expect(o.reserve(spec({ keyId: "a", keyRpm: 1, tenantRpm: 2 }), now)).toMatchObject({ ok: false, reason: "key_rpm" });
      expect(o.reserve(spec({ keyId: "b", keyRpm: 1, tenantRpm: 2 }), now).ok).toBe(true);
      expect(o.reserve(spec({ keyId: "c", keyRpm: 1, tenantRpm: 2 }), now)).toMatchObject({ ok: false, reason: "tenant_rpm" });
    });
  });

  it("releases concurrency on release(), and drops leases past their TTL", async () => {
    const stub = limiter();
    const s = spec({ keyConcurrency: 1, leaseTtlMs: 1000 });
    const first = await stub.reserve(s);
    expect(first.ok).toBe(true);
    expect(await stub.reserve(s)).toMatchObject({ ok: false, reason: "key_concurrency" });
    expect(await stub.release((first as { leaseId: string }).leaseId)).toBe(true);
    expect((await stub.reserve(s)).ok).toBe(true);
    await runInDurableObject(stub, (o: RateLimiterDO) => {
      // The lease above was never released: a lost gateway isolate. After its TTL it stops counting.
      expect(o.reserve(s, Date.now() + 500).ok).toBe(false);
      expect(o.reserve(s, Date.now() + 1001).ok).toBe(true);
    });
  });

  it("keeps the day's token total across an eviction and enforces the budget", async () => {
    await e.DB.prepare("INSERT OR IGNORE INTO tenants (id, name) VALUES ('t-budget', 'budget')").run();
    const stub = limiter();
    const usage = (n: number) => ({ prompt_tokens: n, completion_tokens: 0, total_tokens: n });
    await stub.settle(null, { tenantId: "t-budget", model: "m", usage: usage(60) });
    await evictDurableObject(stub);
    await stub.settle(null, { tenantId: "t-budget", model: "m", usage: usage(50) });
    expect((await stub.snapshot("k1")).tokensToday).toBe(110);
    const denied = await stub.reserve(spec({ dailyTokenBudget: 100 }));
    expect(denied).toMatchObject({ ok: false, reason: "daily_token_budget" });
    expect((denied as { retryAfterMs: number }).retryAfterMs).toBeLessThanOrEqual(86_400_000);
    expect((await stub.reserve(spec({ dailyTokenBudget: 111 }))).ok).toBe(true);
    await runDurableObjectAlarm(stub);
  });

  it("settle() frees the slot and books usage; the alarm flushes absolute totals to D1, idempotently", async () => {
    const tenantId = `t-${crypto.randomUUID()}`;
    await e.DB.prepare("INSERT INTO tenants (id, name) VALUES (?, 'flush')").bind(tenantId).run();
    const stub = stubFor(e.RATE_LIMITER, rateLimiterName(tenantId));
    const lease = await stub.reserve(spec({ keyConcurrency: 1 }));
    expect(lease.ok).toBe(true);
    await stub.settle((lease as { leaseId: string }).leaseId, { tenantId, model: "m1", usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 } });
    await stub.settle(null, { tenantId, model: "m1", usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } });
    expect((await stub.reserve(spec({ keyConcurrency: 1 }))).ok).toBe(true); // the settled slot is free again
    expect((await stub.snapshot("k1")).unflushed).toBe(1);
    const row = () => e.DB.prepare("SELECT requests, prompt_tokens, completion_tokens FROM usage WHERE tenant_id = ?").bind(tenantId).first();
    expect(await row()).toBeNull(); // nothing written to D1 on the request path
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await row()).toEqual({ requests: 2, prompt_tokens: 4, completion_tokens: 5 });
    expect((await stub.snapshot("k1")).unflushed).toBe(0);
    // A flush repeated after a crash writes the same totals again: nothing is counted twice.
    await runInDurableObject(stub, async (o: RateLimiterDO, state) => {
      state.storage.sql.exec("UPDATE usage SET flushed_version = 0");
      await o.alarm();
    });
    expect(await row()).toEqual({ requests: 2, prompt_tokens: 4, completion_tokens: 5 });
  });

  it("settlements that end together each free their own slot and book their usage", async () => {
    const tenantId = `t-${crypto.randomUUID()}`;
    const stub = stubFor(e.RATE_LIMITER, rateLimiterName(tenantId));
    const leases: string[] = [];
    for (let i = 0; i < 12; i++) leases.push(((await stub.reserve(spec({ keyConcurrency: 12 }))) as { leaseId: string }).leaseId);
    expect((await stub.reserve(spec({ keyConcurrency: 12 }))).ok).toBe(false);
    const usage = { prompt_tokens: 2, completion_tokens: 1, total_tokens: 3 };
    await Promise.all(leases.map((id, i) => settleCall(e, tenantId, id, i % 2 ? "m1" : "m2", usage)));
    const after = await stub.snapshot("k1");
    expect(after.keyInFlight).toBe(0);
    expect(after.tokensToday).toBe(36);
    await runInDurableObject(stub, (_o: RateLimiterDO, state) => {
      const rows = state.storage.sql.exec<{ model: string; requests: number }>("SELECT model, requests FROM usage ORDER BY model").toArray();
      expect(rows).toEqual([{ model: "m1", requests: 6 }, { model: "m2", requests: 6 }]);
    });
  });

  it("rejects a malformed reservation instead of admitting it", async () => {
    await runInDurableObject(limiter(), (o: RateLimiterDO) => {
      expect(() => o.reserve({ ...spec(), keyRpm: -1 })).toThrow();
      expect(o.snapshot("k1").keyLastMinute).toBe(0);
    });
  });
});
