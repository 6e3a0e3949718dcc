/**
 * A call's key scopes are kept per isolate for CIO_KEY_CACHE_TTL_S, as the gateway keeps its key lookups:
 * D1 is read once per key and period, not on every cio/auto answer, and a change (a revoked key) shows
 * within that period.
 */
import { describe, expect, it } from "vitest";
import { callerScopes } from "../../src/pipelines/caller-scopes.js";
import { baseEnv, newKey, newTenant } from "./helpers.js";

const db = baseEnv.DB;
const setScopes = (keyId: string, scopes: string[]) =>
  db.prepare("UPDATE api_keys SET scopes = ? WHERE id = ?").bind(JSON.stringify(scopes), keyId).run();

describe("callerScopes", () => {
  it("reads a key's scopes once per CIO_KEY_CACHE_TTL_S, then again: a revoked key has none after it", async () => {
    const tenantId = await newTenant();
    const keyId = await newKey(tenantId, ["chat", "runners"]);
    const now = Date.now();
    expect(await callerScopes(db, { tenantId, keyId }, 30, now)).toEqual(["chat", "runners"]);
    await setScopes(keyId, ["chat"]);
    // Within the period: from the cache, D1's change not read yet.
    expect(await callerScopes(db, { tenantId, keyId }, 30, now + 29_000)).toEqual(["chat", "runners"]);
    expect(await callerScopes(db, { tenantId, keyId }, 30, now + 30_001)).toEqual(["chat"]);
    await db.prepare("UPDATE api_keys SET revoked_at = ? WHERE id = ?").bind(Date.now(), keyId).run();
    expect(await callerScopes(db, { tenantId, keyId }, 30, now + 60_002)).toEqual([]);
  });

  it("keeps nothing with a TTL of 0", async () => {
    const tenantId = await newTenant();
    const keyId = await newKey(tenantId, ["chat", "tasks"]);
    expect(await callerScopes(db, { tenantId, keyId }, 0)).toEqual(["chat", "tasks"]);
    await setScopes(keyId, ["chat"]);
    expect(await callerScopes(db, { tenantId, keyId }, 0)).toEqual(["chat"]);
  });

  it("keeps scopes by tenant and key: another tenant naming the key gets none, even while it is cached", async () => {
    const [a, b] = [await newTenant(), await newTenant()];
    const keyId = await newKey(a, ["*"]);
    expect(await callerScopes(db, { tenantId: a, keyId }, 30)).toEqual(["*"]);
    expect(await callerScopes(db, { tenantId: b, keyId }, 30)).toEqual([]);
  });

  it("does not keep a failed read: the next call reads D1 again", async () => {
    const tenantId = await newTenant();
    const keyId = await newKey(tenantId, ["chat", "runners"]);
    const down = { prepare: () => { throw new Error("D1 unavailable"); } } as unknown as D1Database;
    const now = Date.now();
    await expect(callerScopes(down, { tenantId, keyId }, 30, now)).rejects.toThrow("D1 unavailable");
    expect(await callerScopes(db, { tenantId, keyId }, 30, now + 1)).toEqual(["chat", "runners"]);
  });

  it("does not make a call wait on another call's read: a read stuck with its request leaves the others free", async () => {
    const tenantId = await newTenant();
    const keyId = await newKey(tenantId, ["chat"]);
    const now = Date.now();
    // A D1 read that never ends, as one begun in a request the runtime then cancelled.
    void callerScopes(stalled(db), { tenantId, keyId }, 30, now);
    const next = callerScopes(db, { tenantId, keyId }, 30, now + 1);
    const waited = await Promise.race([next, new Promise((r) => setTimeout(() => r("still waiting"), 2000))]);
    expect(waited).toEqual(["chat"]);
  });
});

/** `d1` whose statements never answer. */
function stalled(d1: D1Database): D1Database {
  const statement = (s: D1PreparedStatement): D1PreparedStatement =>
    new Proxy(s, {
      get: (target, prop) =>
        prop === "bind" ? (...args: unknown[]) => statement(target.bind(...args)) : typeof target[prop as keyof D1PreparedStatement] === "function" ? () => new Promise(() => {}) : target[prop as keyof D1PreparedStatement],
    });
  return new Proxy(d1, { get: (target, prop) => (prop === "prepare" ? (q: string) => statement(target.prepare(q)) : target[prop as keyof D1Database]) });
}
