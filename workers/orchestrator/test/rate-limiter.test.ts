import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { RateLimiterDO } from "../../../durable-objects/rate-limiter/index.js";
import { SlidingWindow, WINDOW_MS } from "../../../durable-objects/rate-limiter/limits.js";
import { limiterStub } from "../../../lib/do-names.js";
import type { OrchestratorEnv } from "../src/env.js";
import { settleCall } from "../src/usage.js";
import { spec } from "./limiter-fixtures.js";

const e = env as unknown as OrchestratorEnv;
const limiter = () => limiterStub(e.RATE_LIMITER, `t-${crypto.randomUUID()}`);
const USAGE = { prompt_tokens: 2, completion_tokens: 3, total_tokens: 5 };

/** A tenant that exists in D1 (its usage can be flushed there) and its limiter. */
async function flushableLimiter(name: string) {
  const tenantId = `t-${crypto.randomUUID()}`;
  await e.DB.prepare("INSERT INTO tenants (id, name) VALUES (?, ?)").bind(tenantId, name).run();
  return { tenantId, stub: limiterStub(e.RATE_LIMITER, tenantId) };
}

/** The tenant's usage as flushed to D1 (one model), or null. */
const flushedUsage = (tenantId: string) => e.DB.prepare("SELECT requests, prompt_tokens, completion_tokens FROM usage WHERE tenant_id = ?").bind(tenantId).first();

describe("SlidingWindow", () => {
  it("counts exactly the admissions of the last minute across compactions of a long log", () => {
    const w = new SlidingWindow();
    const times: number[] = [];
    for (let t = 0; t < 3 * WINDOW_MS; t += 7) {
      w.add(t);
      times.push(t);
      if (t % 301 === 0) {
        expect(w.count(t)).toBe(times.filter((x) => x > t - WINDOW_MS).length);
        // Asked with the count as the limit: the time until one admission, the oldest, leaves.
        expect(w.retryAfter(t, w.count(t))).toBe(Math.max(1, times.find((x) => x > t - WINDOW_MS)! + WINDOW_MS - t));
      }
    }
    expect(w.count(10 * WINDOW_MS)).toBe(0);
    expect(w.retryAfter(10 * WINDOW_MS, 1)).toBe(0);
  });

  it("a window holding more than the limit waits for all the surplus to leave, not just the oldest", () => {
    const w = new SlidingWindow();
    const t0 = 1_000_000;
    for (let i = 0; i < 600; i++) w.add(t0 + i * 100); // 600 evenly spaced in the last minute
    const now = t0 + 59_950;
    // Lowered to 60 a minute: 541 must leave, the last of them (t0 + 54 s) at t0 + 114 s.
    expect(w.retryAfter(now, 60)).toBe(54_050);
    expect(w.count(now + 54_050 - 1)).toBe(60);
    expect(w.count(now + 54_050)).toBe(59);
  });
});

describe("SlidingWindow.perSecond and fromSeconds (how a window is written and read back)", () => {
  it("a window read back counts what the original counted, each admission leaving up to a second late, never early", () => {
    const w = new SlidingWindow();
    const t0 = 7_000_250;
    const times = Array.from({ length: 300 }, (_, i) => t0 + i * 333); // a hundred seconds, three a second
    for (const t of times) w.add(t);
    const counted = (at: number) => times.filter((x) => x > at - WINDOW_MS).length;
    const now = times.at(-1)!;
    const seconds = w.perSecond(now);
    expect(seconds.length).toBeLessThanOrEqual(61);
    expect(seconds.reduce((n, [, c]) => n + c, 0)).toBe(counted(now));
    const back = SlidingWindow.fromSeconds(seconds, now);
    for (let t = now; t < now + WINDOW_MS + 2_000; t += 97) {
      expect(back.count(t)).toBeGreaterThanOrEqual(counted(t));
      expect(back.count(t)).toBeLessThanOrEqual(counted(t - 1_000));
    }
    // Never after the moment it is read back at, so the admissions that follow keep the log in order.
    expect(back.newest()).toBeLessThanOrEqual(now);
  });
});

describe("SlidingWindow.retryAfter on a log due for compaction", () => {
  it("is right when it is the call that cuts the log (it read the index before counting moved it)", () => {
    const w = new SlidingWindow();
    for (let i = 0; i < 2000; i++) w.add(i); // all expired by the time of asking
    const now = 5 * WINDOW_MS;
    for (let i = 0; i < 3; i++) w.add(now - 30_000 + i * 1000); // three in the last minute
    // No count() before: retryAfter's own count cuts the 2000 expired entries.
    expect(w.retryAfter(now, 2)).toBe(30_000 + 1000);
  });
});

describe("RateLimiterDO", () => {
  it("slides its window: a slot frees exactly one minute after the oldest admission", async () => {
    const stub = limiter();
    await runInDurableObject(stub, async (o: RateLimiterDO) => {
      const t0 = 1_000_000;
      expect((await o.reserve(spec({ keyRpm: 2 }), t0)).ok).toBe(true);
      expect((await o.reserve(spec({ keyRpm: 2 }), t0 + 10_000)).ok).toBe(true);
      const denied = await o.reserve(spec({ keyRpm: 2 }), t0 + 20_000);
      expect(denied).toMatchObject({ ok: false, reason: "key_rpm", retryAfterMs: 40_000 });
      expect((await o.reserve(spec({ keyRpm: 2 }), t0 + 60_001)).ok).toBe(true);
    });
  });

  it("keys have separate windows; the tenant window counts them all", async () => {
    const stub = limiter();
    await runInDurableObject(stub, async (o: RateLimiterDO) => {
      const now = 5_000_000;
      expect((await o.reserve(spec({ keyId: "a", keyRpm: 1, tenantRpm: 2 }), now)).ok).toBe(true);
      expect((await o.reserve(spec({ keyId: "a", keyRpm: 1, tenantRpm: 2 }), now))).toMatchObject({ ok: false, reason: "key_rpm" });
      expect((await o.reserve(spec({ keyId: "b", keyRpm: 1, tenantRpm: 2 }), now)).ok).toBe(true);
      expect((await o.reserve(spec({ keyId: "c", keyRpm: 1, tenantRpm: 2 }), now))).toMatchObject({ ok: false, reason: "tenant_rpm" });
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
    await runInDurableObject(stub, async (o: RateLimiterDO) => {
      // The lease above was never released: a lost gateway isolate. After its TTL it stops counting.
      expect((await o.reserve(s, Date.now() + 500)).ok).toBe(false);
      expect((await o.reserve(s, Date.now() + 1001)).ok).toBe(true);
    });
  });

  it("a request refused for concurrency waits for a slot freed meanwhile (a settlement arriving after the client's next request)", async () => {
    const stub = limiter();
    const one = spec({ keyConcurrency: 1 });
    const first = (await stub.reserve(one)) as { ok: true; leaseId: string };
    // Sent in this order, the second reservation finds the slot taken and the release comes while it waits.
    const [second, third] = [stub.reserve(one), stub.reserve(one)];
    await stub.release(first.leaseId);
    const outcomes = await Promise.all([second, third]);
    // The freed slot goes to one of the two: waiting never admits more than the limit.
    expect(outcomes.map((o) => o.ok).sort()).toEqual([false, true]);
    expect(outcomes.find((o) => !o.ok)).toMatchObject({ reason: "key_concurrency" });
    expect((await stub.snapshot("k1")).keyInFlight).toBe(1);
  });

  it("a tenant-wide slot freed by another key's request serves a waiting request too", async () => {
    const stub = limiter();
    const a = (await stub.reserve(spec({ keyId: "a", tenantConcurrency: 1 }))) as { ok: true; leaseId: string };
    const waiting = stub.reserve(spec({ keyId: "b", tenantConcurrency: 1 }));
    await stub.settle(a.leaseId, { tenantId: "t-wait", model: "m" });
    expect(await waiting).toMatchObject({ ok: true });
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
    const { tenantId, stub } = await flushableLimiter("flush");
    const lease = await stub.reserve(spec({ keyConcurrency: 1 }));
    expect(lease.ok).toBe(true);
    await stub.settle((lease as { leaseId: string }).leaseId, { tenantId, model: "m1", usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 } });
    await stub.settle(null, { tenantId, model: "m1", usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } });
    expect((await stub.reserve(spec({ keyConcurrency: 1 }))).ok).toBe(true); // the settled slot is free again
    expect((await stub.snapshot("k1")).unflushed).toBe(1);
    const row = () => flushedUsage(tenantId);
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
    const stub = limiterStub(e.RATE_LIMITER, tenantId);
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

  it("a key over a lowered rpm is told to retry when it will be admitted, not when one request leaves", async () => {
    await runInDurableObject(limiter(), async (o: RateLimiterDO) => {
      const t0 = 1_000_000;
      const wide = spec({ keyRpm: 1000, tenantRpm: 10_000, keyConcurrency: 1000, tenantConcurrency: 1000 });
      for (let i = 0; i < 600; i++) expect((await o.reserve(wide, t0 + i * 100)).ok).toBe(true);
      const lowered = { ...wide, keyRpm: 60 };
      const now = t0 + 59_950;
      const denied = await o.reserve(lowered, now);
      expect(denied).toMatchObject({ ok: false, reason: "key_rpm", retryAfterMs: 54_050 });
      const after = (denied as { retryAfterMs: number }).retryAfterMs;
      expect((await o.reserve(lowered, now + after - 1)).ok).toBe(false);
      expect((await o.reserve(lowered, now + after)).ok).toBe(true);
    });
  });

  it("a failed setAlarm does not stop the flush: the next settle arms it and the usage reaches D1", async () => {
    const { tenantId, stub } = await flushableLimiter("alarm");
    await runInDurableObject(stub, async (o: RateLimiterDO, state) => {
      const setAlarm = state.storage.setAlarm.bind(state.storage);
      let fail = true;
      state.storage.setAlarm = (t, opts) => (fail ? ((fail = false), Promise.reject(new Error("storage unavailable"))) : setAlarm(t, opts));
      const first = await o.settle(null, { tenantId, model: "m", usage: USAGE }).then(() => "settled", (err: Error) => err.message);
      expect(first).toBe("storage unavailable");
      expect(await state.storage.getAlarm()).toBeNull();
      await o.settle(null, { tenantId, model: "m", usage: USAGE });
      expect(await state.storage.getAlarm()).not.toBeNull();
    });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await flushedUsage(tenantId)).toEqual({ requests: 2, prompt_tokens: 4, completion_tokens: 6 });
  });

  it("settlements that arrive together share one storage commit, and each returns only once its usage is stored", async () => {
    const tenantId = `t-${crypto.randomUUID()}`;
    await runInDurableObject(limiterStub(e.RATE_LIMITER, tenantId), async (o: RateLimiterDO, state) => {
      const transactionSync = state.storage.transactionSync.bind(state.storage);
      let commits = 0;
      state.storage.transactionSync = (fn) => (commits++, transactionSync(fn));
      const stored = () => state.storage.sql.exec<{ requests: number }>("SELECT requests FROM usage").toArray()[0]?.requests ?? 0;
      const settles = Array.from({ length: 20 }, (_, i) => o.settle(null, { tenantId, model: "m", usage: USAGE }).then(stored));
      expect(o.snapshot("k1").tokensToday).toBe(100); // the budget sees them before the commit
      // Every settle saw all twenty stored when it returned: one commit for the lot.
      expect(await Promise.all(settles)).toEqual(Array(20).fill(20));
      expect(commits).toBe(1);
    });
  });

  it("a failed commit fails its settlements but loses nothing: the budget counts the usage and the alarm stores it", async () => {
    const { tenantId, stub } = await flushableLimiter("commit");
    await runInDurableObject(stub, async (o: RateLimiterDO, state) => {
      const transactionSync = state.storage.transactionSync.bind(state.storage);
      let fail = true;
      state.storage.transactionSync = (fn) => {
        if (!fail) return transactionSync(fn);
        fail = false;
        throw new Error("storage unavailable");
      };
      const outcomes = await Promise.all([1, 2].map(() => o.settle(null, { tenantId, model: "m", usage: USAGE }).then(() => "settled", (err: Error) => err.message)));
      expect(outcomes).toEqual(["storage unavailable", "storage unavailable"]);
      expect(o.snapshot("k1").tokensToday).toBe(10);
      expect(await state.storage.getAlarm()).not.toBeNull(); // armed although the commit failed
    });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await flushedUsage(tenantId)).toEqual({ requests: 2, prompt_tokens: 4, completion_tokens: 6 });
  });

  it("a bad CIO_USAGE_FLUSH_MS, CIO_USAGE_COMMIT_MS or CIO_SLOT_WAIT_MS is refused when the object starts, naming the variable", async () => {
    await runInDurableObject(limiter(), (_o: RateLimiterDO, state) => {
      const cases = [["CIO_USAGE_FLUSH_MS", "5"], ["CIO_USAGE_FLUSH_MS", "10s"], ["CIO_USAGE_COMMIT_MS", "-1"], ["CIO_USAGE_COMMIT_MS", "5000"], ["CIO_SLOT_WAIT_MS", "-1"]];
      for (const [name, bad] of cases) {
        const err = (() => {
          try {
            new RateLimiterDO(state, { ...e, [name!]: bad });
          } catch (x) {
            return String(x);
          }
        })();
        expect(err).toMatch(new RegExp(`invalid configuration[\\s\\S]*${name}`));
      }
    });
  });

  it("settle() refuses usage that is not sane and books nothing, but still frees the slot", async () => {
    const tenantId = `t-${crypto.randomUUID()}`;
    const bad = [
      { prompt_tokens: "12", completion_tokens: 3, total_tokens: 15 },
      { prompt_tokens: -1000, completion_tokens: 3, total_tokens: -997 },
      { prompt_tokens: 12, total_tokens: 12 },
    ];
    // In the object, not over RPC: the runtime logs every RPC method that throws as an uncaught exception.
    await runInDurableObject(limiter(), async (o: RateLimiterDO) => {
      for (const usage of bad) {
        const lease = (await o.reserve(spec({ keyConcurrency: 1 }))) as { ok: boolean; leaseId: string };
        expect(lease.ok).toBe(true);
        const settled = await o.settle(lease.leaseId, { tenantId, model: "m", usage: usage as never }).then(() => "booked", () => "refused");
        expect(settled).toBe("refused");
        expect(o.snapshot("k1").keyInFlight).toBe(0);
      }
      expect(o.snapshot("k1")).toMatchObject({ tokensToday: 0, unflushed: 0 });
    });
  });

  it("settleMany() frees every slot, books the sane usage and reports the rest, naming how many it refused", async () => {
    const tenantId = `t-${crypto.randomUUID()}`;
    await runInDurableObject(limiter(), async (o: RateLimiterDO) => {
      const leases: string[] = [];
      for (let i = 0; i < 3; i++) leases.push(((await o.reserve(spec({ keyConcurrency: 3 }))) as { leaseId: string }).leaseId);
      const items = [
        { leaseId: leases[0]!, tenantId, model: "m", usage: USAGE },
        { leaseId: leases[1]!, tenantId, model: "m", usage: { ...USAGE, prompt_tokens: -7 } },
        { leaseId: leases[2]!, tenantId, model: "m" },
      ];
      const outcome = await o.settleMany(items).then(() => "booked", (err: Error) => err.message);
      expect(outcome).toMatch(/^1 of 3 settlements not booked/);
      expect(o.snapshot("k1")).toMatchObject({ keyInFlight: 0, tokensToday: 5, unflushed: 1 });
    });
  });

  it("work begun holds its tokens against the budget (requests' too) until it ends, or until its hold expires", async () => {
    const tenantId = `t-${crypto.randomUUID()}`;
    await runInDurableObject(limiterStub(e.RATE_LIMITER, tenantId), async (o: RateLimiterDO) => {
      const picture = { budget: 1000, tokens: 1004, ttlMs: 60_000 };
      const first = o.beginWork(picture);
      expect(first).toEqual(expect.any(String));
      expect(o.beginWork(picture)).toBeNull();
      expect(await o.reserve(spec({ dailyTokenBudget: 1000 }))).toMatchObject({ ok: false, reason: "daily_token_budget" });
      const unbudgeted = o.beginWork({ ...picture, budget: null }); // no budget: never refused
      expect(unbudgeted).toEqual(expect.any(String));
      // Ended without using anything (the model failed): the budget is free again.
      for (const id of [first!, unbudgeted!]) await o.endWork(id, null);
      const second = o.beginWork(picture)!;
      expect(second).toEqual(expect.any(String));
      // Ended with its usage: booked, and the hold gone (counted once).
      await o.endWork(second, { tenantId, model: "img", usage: { prompt_tokens: 4, completion_tokens: 1000, total_tokens: 1004 } });
      expect(o.snapshot("k1").tokensToday).toBe(1004);
      expect(o.budgetSpent(1005)).toBe(false);
      // A hold whose work died without ending it stops counting when it expires.
      o.beginWork({ budget: 2000, tokens: 500, ttlMs: 1_000 });
      expect(o.budgetSpent(1005)).toBe(true);
      expect(o.budgetSpent(1005, Date.now() + 1_000)).toBe(false);
    });
  });

  it("rejects a malformed reservation instead of admitting it", async () => {
    await runInDurableObject(limiter(), async (o: RateLimiterDO) => {
      await expect(o.reserve({ ...spec(), keyRpm: -1 })).rejects.toThrow();
      expect(o.snapshot("k1").keyLastMinute).toBe(0);
    });
  });
});
