import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { admin, call, chatBody, newTenant } from "../../../test/support/fixtures";

const chat = (headers: Record<string, string>) =>
  call("/v1/chat/completions", { method: "POST", headers, body: chatBody("hello") });

afterEach(() => vi.useRealTimers());

describe("API-key authentication", () => {
  it("401 without a key, with a malformed header, and with an unknown key", async () => {
    for (const authorization of [undefined, "Basic abc", "Bearer sk-cio-unknown"]) {
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (authorization) headers.authorization = authorization;
      const res = await chat(headers);
      expect(res.status).toBe(401);
      expect(((await res.json()) as { error: { type: string } }).error.type).toBe("authentication_error");
    }
  });

  it("keys look like sk-cio- plus 32 random bytes and only their SHA-256 is stored", async () => {
    const t = await newTenant();
    expect(t.key).toMatch(/^sk-cio-[A-Za-z0-9_-]{43}$/);
    const row = await (env as unknown as { DB: D1Database }).DB.prepare("SELECT hash, prefix FROM api_keys WHERE id = ?").bind(t.keyId).first<{ hash: string; prefix: string }>();
    const digest = Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(t.key))), (b) => b.toString(16).padStart(2, "0")).join("");
    expect(row?.hash).toBe(digest);
    expect(t.key.startsWith(row!.prefix)).toBe(true);
    expect((await chat(t.headers)).status).toBe(200);
  });

  it("a key revoked through the admin API stops working at once", async () => {
    const t = await newTenant();
    expect((await chat(t.headers)).status).toBe(200);
    await admin("DELETE", `/admin/tenants/${t.tenantId}/keys/${t.keyId}`);
    expect((await chat(t.headers)).status).toBe(401);
  });

  it("a key revoked behind this isolate's back stops working within 30 s (the cache TTL)", async () => {
    const t = await newTenant();
    expect((await chat(t.headers)).status).toBe(200); // now cached
    await (env as unknown as { DB: D1Database }).DB.prepare("UPDATE api_keys SET revoked_at = 1 WHERE id = ?").bind(t.keyId).run();
    expect((await chat(t.headers)).status).toBe(200); // served from the cache
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 30_001);
    expect((await chat(t.headers)).status).toBe(401);
  });

  it("403 when the key lacks the scope", async () => {
    const t = await newTenant({}, { scopes: ["sessions"] });
    const res = await chat(t.headers);
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("insufficient_scope");
  });

  it("403 when the tenant is suspended", async () => {
    const t = await newTenant();
    await admin("PATCH", `/admin/tenants/${t.tenantId}`, { status: "suspended" });
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 31_000); // past the key cache
    const res = await chat(t.headers);
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("tenant_suspended");
  });
});
