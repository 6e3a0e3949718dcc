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
    expect(await lookupKey(counted, hash, s)).toMatchObject({ keyId: t.keyId });
    for (let i = 0; i < 10_050; i++) await lookupKey(counted, `made-up-${i}`, s);
    const before = queries;
    expect(await lookupKey(counted, hash, s)).toMatchObject({ keyId: t.keyId });
    expect(queries).toBe(before);
  }, 120_000);
});
