import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { lookupKey } from "../src/keys.js";
import { gatewaySettings } from "../src/settings.js";
import { newTenant } from "../../../test/support/fixtures.js";

const sha256 = async (s: string) => [...new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(s)))].map((b) => b.toString(16).padStart(2, "0")).join("");

describe("the per-isolate API key cache", () => {
  it("a flood of made-up keys does not push a real one out: it is still answered without D1", async () => {
    const db = (env as unknown as { DB: D1Database }).DB;
    const s = gatewaySettings(env);
    const t = await newTenant();
    const hash = await sha256(t.key);
    let queries = 0;
    const counted = new Proxy(db, { get: (d, p) => (p === "prepare" ? (q: string) => (queries++, d.prepare(q)) : Reflect.get(d, p)) });
    // One clock for every lookup: the loop may take longer than the cache's 30 s on a loaded machine.
    const now = Date.now();
    expect(await lookupKey(counted, hash, s, now)).toMatchObject({ keyId: t.keyId });
    for (let i = 0; i < 10_050; i++) await lookupKey(counted, `made-up-${i}`, s, now);
    const before = queries;
    expect(await lookupKey(counted, hash, s, now)).toMatchObject({ keyId: t.keyId });
    expect(queries).toBe(before);
  }, 120_000);

  it("a key revoked elsewhere is remembered as a miss once its entry expires: later requests with it do not query D1", async () => {
    const db = (env as unknown as { DB: D1Database }).DB;
    const s = gatewaySettings(env);
    const t = await newTenant();
    const hash = await sha256(t.key);
    let queries = 0;
    const counted = new Proxy(db, { get: (d, p) => (p === "prepare" ? (q: string) => (queries++, d.prepare(q)) : Reflect.get(d, p)) });
    const now = Date.now();
    expect(await lookupKey(counted, hash, s, now)).not.toBeNull();
    await db.prepare("UPDATE api_keys SET revoked_at = ? WHERE id = ?").bind(now, t.keyId).run();
    const later = now + s.CIO_KEY_CACHE_TTL_S * 1000 + 1;
    expect(await lookupKey(counted, hash, s, later)).toBeNull();
    const before = queries;
    expect(await lookupKey(counted, hash, s, later + 1)).toBeNull();
    expect(queries).toBe(before);
  });
});
