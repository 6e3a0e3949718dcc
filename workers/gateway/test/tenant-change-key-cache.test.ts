/**
 * A change to a tenant through the admin API (its status, its limits, its budget) reaches its keys at once on
 * the isolate that made it: the per-isolate key cache holds each key's tenant status and limits, and kept
 * them until the entry expired (CIO_KEY_CACHE_TTL_S), so a suspended tenant's cached key went on working.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { forgetTenant, lookupKey } from "../src/keys.js";
import { gatewaySettings } from "../src/settings.js";
import { admin, call, chatBody, newTenant } from "../../../test/support/fixtures.js";

const db = (env as unknown as { DB: D1Database }).DB;
const s = gatewaySettings(env);
const sha256 = async (x: string) => [...new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(x)))].map((b) => b.toString(16).padStart(2, "0")).join("");

describe("a tenant changed through the admin API", () => {
  it("suspended: its cached key is refused at once (403 tenant_suspended), and works again once reactivated", async () => {
    const t = await newTenant();
    expect((await call("/v1/models", { headers: t.headers })).status).toBe(200); // the key is cached now
    await admin("PATCH", `/admin/tenants/${t.tenantId}`, { status: "suspended" });
    const res = await call("/v1/models", { headers: t.headers });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ error: { code: "tenant_suspended" } });
    await admin("PATCH", `/admin/tenants/${t.tenantId}`, { status: "active" });
    expect((await call("/v1/models", { headers: t.headers })).status).toBe(200);
  });

  it("given a lower rpm_limit: the next request of its cached key is admitted under the new limit", async () => {
    const t = await newTenant();
    const chat = () => call("/v1/chat/completions", { method: "POST", headers: t.headers, body: chatBody("hi") });
    expect((await chat()).status).toBe(200); // cached with the default tenant rpm, and one admission this minute
    await admin("PATCH", `/admin/tenants/${t.tenantId}`, { rpm_limit: 1 });
    const res = await chat();
    expect(res.status).toBe(429);
    expect(await res.json()).toMatchObject({ error: { code: "tenant_rpm" } });
  });

  it("forgetTenant drops that tenant's cached keys only: another tenant's key is still answered without D1", async () => {
    const [a, b] = [await newTenant(), await newTenant()];
    const [ha, hb] = [await sha256(a.key), await sha256(b.key)];
    const counter = { queries: 0 };
    const counted = new Proxy(db, { get: (d, p) => (p === "prepare" ? (q: string) => (counter.queries++, d.prepare(q)) : Reflect.get(d, p)) });
    const now = Date.now();
    await lookupKey(counted, ha, s, now);
    await lookupKey(counted, hb, s, now);
    forgetTenant(a.tenantId);
    const before = counter.queries;
    expect(await lookupKey(counted, hb, s, now)).toMatchObject({ keyId: b.keyId });
    expect(counter.queries).toBe(before);
    expect(await lookupKey(counted, ha, s, now)).toMatchObject({ keyId: a.keyId });
    expect(counter.queries).toBe(before + 1);
  });
});
