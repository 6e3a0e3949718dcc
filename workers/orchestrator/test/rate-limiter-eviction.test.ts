import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { RateLimiterDO } from "../../../durable-objects/rate-limiter/index.js";
import { WINDOW_MS } from "../../../durable-objects/rate-limiter/limits.js";
import { limiterStub } from "../../../lib/do-names.js";
import { sleep } from "../../../lib/time.js";
import type { OrchestratorEnv } from "../src/env.js";
import { spec } from "./limiter-fixtures.js";

const e = env as unknown as OrchestratorEnv;
const newTenant = () => `t-${crypto.randomUUID()}`;
const stubOf = (tenantId: string) => limiterStub(e.RATE_LIMITER, tenantId);

/**
 * A restart of the tenant's object, as a deploy or the runtime's own restart does it: its memory is reset
 * whatever it is doing, where an eviction waits for it to have nothing pending. Stubs from before are broken.
 */
async function restart(tenantId: string) {
  await runInDurableObject(stubOf(tenantId), (_o: RateLimiterDO, state) => state.abort("restart")).catch(() => undefined);
  return stubOf(tenantId);
}

describe("RateLimiterDO across an eviction", () => {
  it("is not evicted while its window counts an admission; when that leaves, the leases in flight are written and keep their slots", async () => {
    const stub = stubOf(newTenant());
    // A lease that outlives its admission's minute, like a long answer's.
    const one = spec({ keyConcurrency: 1, leaseTtlMs: 600_000 });
    // Admitted as if 58 s ago, so it leaves the window in 2 s, long before the alarm (CIO_USAGE_FLUSH_MS 10 s).
    const long = await stub.reserve(one, Date.now() - WINDOW_MS + 2_000);
    expect(long.ok).toBe(true);
    let evicted = false;
    const eviction = evictDurableObject(stub).then(() => (evicted = true));
    await sleep(1_000);
    expect(evicted).toBe(false); // a pending timer: the runtime neither hibernates nor evicts it
    await eviction;
    // The slot of the answer still running is held by the object's next life.
    expect(await stub.reserve(one)).toMatchObject({ ok: false, reason: "key_concurrency" });
    await stub.release((long as { leaseId: string }).leaseId);
    expect((await stub.reserve(one)).ok).toBe(true);
  });

  it("a restart keeps a key's and the tenant's per-minute windows as the alarm the admissions armed wrote them", async () => {
    const tenantId = newTenant();
    const stub = stubOf(tenantId);
    const five = spec({ keyRpm: 5, tenantRpm: 8 });
    for (let i = 0; i < 5; i++) expect((await stub.reserve(five)).ok).toBe(true);
    expect(await stub.reserve(five)).toMatchObject({ ok: false, reason: "key_rpm" });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const after = await restart(tenantId);
    const refused = await after.reserve(five);
    expect(refused).toMatchObject({ ok: false, reason: "key_rpm" });
    // Reloaded as made at the end of their second: they leave the window up to a second late, never early.
    const retryAfter = (refused as { retryAfterMs: number }).retryAfterMs;
    expect(retryAfter).toBeGreaterThan(WINDOW_MS - 5_000);
    expect(retryAfter).toBeLessThanOrEqual(WINDOW_MS + 1_000);
    expect(await after.snapshot("k1")).toMatchObject({ keyLastMinute: 5, tenantLastMinute: 5 });
    // Another key shares the tenant's window: three more fill it.
    for (let i = 0; i < 3; i++) expect((await after.reserve({ ...five, keyId: "k2" })).ok).toBe(true);
    expect(await after.reserve({ ...five, keyId: "k2" })).toMatchObject({ ok: false, reason: "tenant_rpm" });
  });

  it("admissions that left the window while the object was away do not count when it comes back", async () => {
    const tenantId = newTenant();
    const stub = stubOf(tenantId);
    const two = spec({ keyRpm: 2 });
    // Made as if almost a minute ago: written while they count, gone a moment later.
    const old = Date.now() - WINDOW_MS + 100;
    for (let i = 0; i < 2; i++) expect((await stub.reserve(two, old)).ok).toBe(true);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    await sleep(1_200); // past the end of their second too
    const after = await restart(tenantId);
    expect((await after.reserve(two)).ok).toBe(true);
    expect((await after.snapshot("k1")).keyLastMinute).toBe(1);
  });

  it("a slot in flight across a restart stays taken until its request settles, and one settled before it does not come back", async () => {
    const tenantId = newTenant();
    const one = spec({ keyConcurrency: 1 });
    const long = (await stubOf(tenantId).reserve(one)) as { ok: boolean; leaseId: string };
    expect(long.ok).toBe(true);
    expect(await runDurableObjectAlarm(stubOf(tenantId))).toBe(true); // the alarm the reservation armed writes the lease
    let stub = await restart(tenantId);
    expect(await stub.reserve(one)).toMatchObject({ ok: false, reason: "key_concurrency" });
    await stub.settle(long.leaseId, { tenantId, model: "m" });
    const next = (await stub.reserve(one)) as { ok: boolean; leaseId: string };
    expect(next.ok).toBe(true);
    // Written by an alarm, then settled: after another restart it is not held again.
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    await stub.settle(next.leaseId, { tenantId, model: "m" });
    stub = await restart(tenantId);
    expect((await stub.reserve(one)).ok).toBe(true);
    expect((await stub.snapshot("k1")).keyInFlight).toBe(1);
  });
});
