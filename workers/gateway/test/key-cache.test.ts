import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { lookupKey } from "../src/keys.js";
import { gatewaySettings } from "../src/settings.js";
import { newTenant } from "../../../test/support/fixtures.js";

const db = (env as unknown as { DB: D1Database }).DB;
const s = gatewaySettings(env);
const sha256 = async (x: string) => [...new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(x)))].map((b) => b.toString(16).padStart(2, "0")).join("");

/** A fresh tenant's key and lookups of it through a D1 that counts its queries. */
async function countedLookups() {
  const t = await newTenant();
  const hash = await sha256(t.key);
  const counter = { queries: 0 };
  const counted = new Proxy(db, { get: (d, p) => (p === "prepare" ? (q: string) => (counter.queries++, d.prepare(q)) : Reflect.get(d, p)) });
  return { t, hash, counter, lookup: (h: string, now: number) => lookupKey(counted, h, s, now) };
}

describe("the per-isolate API key cache", () => {
  it("a flood of made-up keys does not push a real one out: it is still answered without D1", async () => {
    const { t, hash, counter, lookup } = await countedLookups();
    // One clock for every lookup: the loop may take longer than the cache's 30 s on a loaded machine.
    const now = Date.now();
    expect(await lookup(hash, now)).toMatchObject({ keyId: t.keyId });
    for (let i = 0; i < 10_050; i++) await lookup(`made-up-${i}`, now);
    const before = counter.queries;
    expect(await lookup(hash, now)).toMatchObject({ keyId: t.keyId });
    expect(counter.queries).toBe(before);
  }, 120_000);

  it("a key revoked elsewhere is remembered as a miss once its entry expires: later requests with it do not query D1", async () => {
    const { t, hash, counter, lookup } = await countedLookups();
    const now = Date.now();
    expect(await lookup(hash, now)).not.toBeNull();
    await db.prepare("UPDATE api_keys SET revoked_at = ? WHERE id = ?").bind(now, t.keyId).run();
    const later = now + s.CIO_KEY_CACHE_TTL_S * 1000 + 1;
    expect(await lookup(hash, later)).toBeNull();
    const before = counter.queries;
    expect(await lookup(hash, later + 1)).toBeNull();
    expect(counter.queries).toBe(before);
  });
});
