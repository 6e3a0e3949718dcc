import { describe, expect, it } from "vitest";
import { Logger } from "../../../../lib/log.js";
import { tenantTools } from "../../src/registry/index.js";
import { orchestratorSettings } from "../../src/settings.js";
import { baseEnv, mockTool, newTenant, uniq } from "./helpers.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("the registry kept per isolate", () => {
  it("serves its snapshot within the TTL, then once stale while the next loads beside the call", async () => {
    const env = { ...baseEnv, CIO_REGISTRY_TTL_MS: "2000" } as typeof baseEnv;
    const s = orchestratorSettings(env);
    const log = new Logger({ component: "test" });
    const tenantId = await newTenant();
    const [a, b] = [uniq("reg-a"), uniq("reg-b")];
    const names = async (waitUntil?: (p: Promise<unknown>) => void) => (await tenantTools(env, s, tenantId, log, waitUntil)).tools.map((t) => t.name);
    await mockTool(tenantId, a);
    expect(await names()).toContain(a);

    await mockTool(tenantId, b);
    expect(await names()).not.toContain(b); // within the TTL: no D1 read
    await sleep(2100);
    const refreshes: Promise<unknown>[] = [];
    expect(await names((p) => refreshes.push(p))).not.toContain(b); // stale, served at once
    expect(refreshes).toHaveLength(1);
    expect(await names((p) => refreshes.push(p))).not.toContain(b);
    expect(refreshes).toHaveLength(1); // one refresh at a time
    await Promise.all(refreshes);
    expect(await names()).toEqual(expect.arrayContaining([a, b]));
  });

  it("holds at most CIO_REGISTRY_CACHE_TENANTS tenants: the least recently used is dropped and read from D1 again", async () => {
    const env = { ...baseEnv, CIO_REGISTRY_TTL_MS: "600000", CIO_REGISTRY_CACHE_TENANTS: "2" } as typeof baseEnv;
    const s = orchestratorSettings(env);
    const log = new Logger({ component: "test" });
    const [t1, t2, t3] = [await newTenant(), await newTenant(), await newTenant()];
    const names = async (t: string) => (await tenantTools(env, s, t, log)).tools.map((x) => x.name);
    await names(t1);
    await names(t2);
    await names(t1); // t1 used again: t2 is now the least recently used
    const [late1, late2] = [uniq("late-1"), uniq("late-2")];
    await mockTool(t1, late1);
    await mockTool(t2, late2);
    await names(t3); // a third tenant: t2 goes
    expect(await names(t1)).not.toContain(late1); // still cached, within its TTL
    expect(await names(t2)).toContain(late2); // dropped, so read again
  });
});
