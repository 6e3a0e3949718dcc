import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { inject } from "vitest";
import type { CouncilDO } from "../../../durable-objects/council/index.js";
import { councilName } from "../src/councils/rpc.js";
import { create, get, persona, rows, says, scripted, settled, tenant, when } from "./council-helpers.js";

const mockLog = async (id: string) => (await (await fetch(`${inject("upstreamUrl").replace(/\/v1$/, "")}/__requests?id=${id}`)).json()) as { aborted: boolean }[];

describe("council durability", () => {
  it("resumes after eviction mid-round: answers already given are kept, only the missing one is asked again", async () => {
    const t = await tenant();
    const run = crypto.randomUUID().slice(0, 8);
    // beta's model fails its first attempt (three HTTP calls: the client retries twice), so round 1 stops
    // with alpha's position stored and beta's missing, the retry alarm pending. The object is evicted there.
    const question = scripted("Evict me?", [
      when("alpha", 1, says("YES"), { id: `${run}-alpha` }),
      when("beta", 1, says("YES"), { id: `${run}-beta`, failTimes: 3, status: 503 }),
    ]);
    const c = await create(t, { question, assistants: [persona("alpha"), persona("beta")], options: ["YES", "NO"], max_rounds: 1 });
    const ns = (env as unknown as { COUNCILS: DurableObjectNamespace<CouncilDO> }).COUNCILS;
    const stub = ns.get(ns.idFromName(councilName(t, c.id)));

    await expect.poll(async () => (await mockLog(`${run}-beta`)).length, { timeout: 10_000, interval: 10 }).toBe(3);
    await expect.poll(async () => (await runInDurableObject(stub, async (_o: CouncilDO, state) => state.storage.get(`pos:1:alpha`))) !== undefined, { timeout: 5_000, interval: 10 }).toBe(true);
    const mid = await get(t, c.id);
    expect(mid).toMatchObject({ kind: "ok", body: { status: "running", rounds: [] } });
    await runInDurableObject(stub, (o: CouncilDO) => void Object.assign(o, { probe: run }));
    await evictDurableObject(stub);
    expect(await runInDurableObject(stub, (o: CouncilDO) => (o as unknown as { probe?: string }).probe)).toBeUndefined();

    // The pending alarm brings the council back in a fresh instance; run it now instead of waiting.
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const done = await settled(t, c.id);
    expect(done.status).toBe("consensus");
    expect(done.decision!.option).toBe("YES");
    expect((await mockLog(`${run}-alpha`)).length).toBe(1);
    expect((await mockLog(`${run}-beta`)).length).toBe(4);
    expect(await rows("SELECT assistant_id FROM council_positions WHERE tenant_id = ? AND council_id = ? ORDER BY assistant_id", t, c.id)).toEqual([
      { assistant_id: "alpha" },
      { assistant_id: "beta" },
    ]);
  });

  it("a step run twice changes nothing: the alarm replayed after the end leaves the record as it was", async () => {
    const t = await tenant();
    const question = scripted("Twice?", [when("alpha", null, says("YES")), when("beta", null, says("YES"))]);
    const c = await settled(t, (await create(t, { question, assistants: [persona("alpha"), persona("beta")], options: ["YES", "NO"] })).id);
    const ns = (env as unknown as { COUNCILS: DurableObjectNamespace<CouncilDO> }).COUNCILS;
    const stub = ns.get(ns.idFromName(councilName(t, c.id)));
    await runInDurableObject(stub, (o: CouncilDO) => o.alarm());
    await runInDurableObject(stub, (o: CouncilDO) => o.alarm());
    const after = await settled(t, c.id);
    expect(after.rounds).toEqual(c.rounds);
    expect(after.decision).toEqual(c.decision);
    expect(await rows("SELECT count(*) AS n FROM council_positions WHERE tenant_id = ? AND council_id = ?", t, c.id)).toEqual([{ n: 2 }]);
  });
});
