import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ADMIN, admin, call, newTenant } from "../../../test/support/fixtures";
import { createApp } from "../src/app.js";
import gatewayApp from "../src/index.js";

const db = () => (env as unknown as { DB: D1Database }).DB;

describe("admin API", () => {
  it("requires the admin token", async () => {
    expect((await call("/admin/tenants")).status).toBe(401);
    expect((await call("/admin/tenants", { headers: { authorization: "Bearer wrong" } })).status).toBe(401);
    const t = await newTenant();
    expect((await call("/admin/tenants", { headers: t.headers })).status).toBe(401); // an API key is not an admin token
  });

  it("creates, lists, reads and updates tenants, auditing each change", async () => {
    const t = await admin<{ id: string; name: string; status: string }>("POST", "/admin/tenants", { name: "Acme", rpm_limit: 60 });
    expect(t).toMatchObject({ object: "tenant", name: "Acme", status: "active", rpm_limit: 60, daily_token_budget: null });
    const list = await admin<{ data: { id: string }[] }>("GET", "/admin/tenants");
    expect(list.data.some((x) => x.id === t.id)).toBe(true);
    const patched = await admin("PATCH", `/admin/tenants/${t.id}`, { daily_token_budget: 1000, status: "suspended" });
    expect(patched).toMatchObject({ daily_token_budget: 1000, status: "suspended" });
    const audit = await db().prepare("SELECT action FROM audit_log WHERE tenant_id = ? ORDER BY id").bind(t.id).all<{ action: string }>();
    expect(audit.results.map((r) => r.action)).toEqual(["tenant.create", "tenant.update"]);
  });

  it("rejects bad input with a 400 and changes nothing", async () => {
    const before = await db().prepare("SELECT COUNT(*) AS n FROM tenants").first<{ n: number }>();
    for (const body of [{}, { name: "" }, { name: "x", rpm_limit: -1 }, { name: "x", surprise: true }]) {
      const res = await call("/admin/tenants", { method: "POST", headers: ADMIN, body: JSON.stringify(body) });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error: { type: "invalid_request_error" } });
    }
    const after = await db().prepare("SELECT COUNT(*) AS n FROM tenants").first<{ n: number }>();
    expect(after!.n).toBe(before!.n);
    expect((await call("/admin/tenants/ten_missing", { headers: ADMIN })).status).toBe(404);
  });

  it("issues keys once, lists them without secrets, and revokes them", async () => {
    const t = await newTenant();
    const list = await admin<{ data: Record<string, unknown>[] }>("GET", `/admin/tenants/${t.tenantId}/keys`);
    expect(list.data).toHaveLength(1);
    expect(list.data[0]!.key).toBeUndefined();
    expect(list.data[0]!.prefix).toBe(t.key.slice(0, 11));
    const revoked = await admin<{ revoked_at: number }>("DELETE", `/admin/tenants/${t.tenantId}/keys/${t.keyId}`);
    expect(revoked.revoked_at).toBeGreaterThan(0);
  });

  it("one tenant's key cannot be revoked through another tenant's path", async () => {
    const a = await newTenant();
    const b = await newTenant();
    const res = await call(`/admin/tenants/${b.tenantId}/keys/${a.keyId}`, { method: "DELETE", headers: ADMIN });
    expect(res.status).toBe(404);
    expect((await call("/v1/models", { headers: a.headers })).status).toBe(200);
    const audit = await db().prepare("SELECT COUNT(*) AS n FROM audit_log WHERE target = ?").bind(a.keyId).first<{ n: number }>();
    expect(audit!.n).toBe(1); // only its creation
  });

  it("takes an encoded id as one segment: `npm run admin` sends ids so, and `../` reaches no other tenant", async () => {
    const a = await newTenant();
    const b = await newTenant();
    const climb = encodeURIComponent(`../../${b.tenantId}/keys/${b.keyId}`);
    const res = await call(`/admin/tenants/${a.tenantId}/keys/${climb}`, { method: "DELETE", headers: ADMIN });
    expect(res.status).toBe(404);
    expect((await call("/v1/models", { headers: b.headers })).status).toBe(200);
    expect((await call(`/admin/tenants/${encodeURIComponent(`${a.tenantId}?`)}/usage`, { headers: ADMIN })).status).toBe(404);
  });

  it("issues runner tokens bound to a tenant and a runner name, stored hashed", async () => {
    const t = await newTenant();
    const tok = await admin<{ id: string; token: string; runner_name: string }>("POST", `/admin/tenants/${t.tenantId}/runner-tokens`, { runner_name: "warehouse-1" });
    expect(tok.token).toMatch(/^rt-cio-/);
    expect(tok.runner_name).toBe("warehouse-1");
    const row = await db().prepare("SELECT hash FROM runner_tokens WHERE id = ?").bind(tok.id).first<{ hash: string }>();
    expect(row!.hash).not.toContain(tok.token);
    const list = await admin<{ data: Record<string, unknown>[] }>("GET", `/admin/tenants/${t.tenantId}/runner-tokens`);
    expect(list.data[0]!.token).toBeUndefined();
    const revoked = await admin<{ revoked_at: number }>("DELETE", `/admin/tenants/${t.tenantId}/runner-tokens/${tok.id}`);
    expect(revoked.revoked_at).toBeGreaterThan(0);
    const bad = await call(`/admin/tenants/${t.tenantId}/runner-tokens`, { method: "POST", headers: ADMIN, body: JSON.stringify({ runner_name: "Bad Name!" }) });
    expect(bad.status).toBe(400);
    // `connect` is the runners' socket path: a runner of that name could never be read.
    const reserved = await call(`/admin/tenants/${t.tenantId}/runner-tokens`, { method: "POST", headers: ADMIN, body: JSON.stringify({ runner_name: "connect" }) });
    expect(reserved.status).toBe(400);
    expect(await reserved.json()).toMatchObject({ error: { param: "runner_name", message: expect.stringContaining("reserved") } });
    const longest = await admin<{ runner_name: string }>("POST", `/admin/tenants/${t.tenantId}/runner-tokens`, { runner_name: "r".repeat(64) });
    expect(longest.runner_name).toHaveLength(64); // as long as a runner's config allows
  });

  it("a runner-token revoke holds when the runner hub cannot be reached: 200, revoked in D1, audited", async () => {
    const t = await newTenant();
    const tok = await admin<{ id: string }>("POST", `/admin/tenants/${t.tenantId}/runner-tokens`, { runner_name: "warehouse-1" });
    // The hub's namespace answers every call with the error a Durable Object that cannot be reached gives.
    const hubs = (env as unknown as { RUNNER_HUBS: DurableObjectNamespace }).RUNNER_HUBS;
    const unreachable = { idFromName: (n: string) => hubs.idFromName(n), get: () => ({ disconnectToken: () => Promise.reject(new Error("Network connection lost.")) }) };
    const req = new Request(`https://cio.test/admin/tenants/${t.tenantId}/runner-tokens/${tok.id}`, { method: "DELETE", headers: ADMIN });
    const ctx = createExecutionContext();
    const res = await gatewayApp.fetch(req, { ...env, RUNNER_HUBS: unreachable }, ctx);
    await waitOnExecutionContext(ctx);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id: tok.id, revoked_at: expect.any(Number) });
    const row = await db().prepare("SELECT revoked_at FROM runner_tokens WHERE id = ?").bind(tok.id).first<{ revoked_at: number | null }>();
    expect(row!.revoked_at).toBeGreaterThan(0);
    const audit = await db().prepare("SELECT action FROM audit_log WHERE tenant_id = ? AND target = ?").bind(t.tenantId, tok.id).all<{ action: string }>();
    expect(audit.results.map((r) => r.action)).toContain("runner_token.revoke");
  });
});

describe("GET /admin/audit", () => {
  type Entry = { id: number; action: string; tenant_id: string | null; target: string | null; request_id: string | null };
  const audit = async (query: string, headers: Record<string, string> = ADMIN) => {
    const res = await call(`/admin/audit${query}`, { headers });
    return { status: res.status, body: (await res.json()) as { data: Entry[]; has_more: boolean; error?: { param: string } } };
  };

  it("lists a tenant's admin changes newest first, by action or kind, a page at a time", async () => {
    const t = await admin<{ id: string }>("POST", "/admin/tenants", { name: "Audited", daily_token_budget: 5000 });
    const k = await admin<{ id: string }>("POST", `/admin/tenants/${t.id}/keys`, { name: "k", rpm_limit: 7 });
    await admin("DELETE", `/admin/tenants/${t.id}/keys/${k.id}`);
    await admin("PATCH", `/admin/tenants/${t.id}`, { rpm_limit: 5 });
    const other = await newTenant();

    const all = await audit(`?tenant_id=${t.id}`);
    expect(all.status).toBe(200);
    expect(all.body.data.map((e) => e.action)).toEqual(["tenant.update", "api_key.revoke", "api_key.create", "tenant.create"]);
    expect(all.body.data[1]).toMatchObject({ object: "audit_entry", tenant_id: t.id, actor: "admin", target: k.id, request_id: expect.any(String) });
    expect(all.body.data.every((e) => e.tenant_id === t.id)).toBe(true);
    // The limits a tenant or key was created with are recorded, as later changes to them are.
    expect(all.body.data[3]).toMatchObject({ detail: { name: "Audited", daily_token_budget: 5000 } });
    expect(all.body.data[2]).toMatchObject({ detail: { name: "k", scopes: ["*"], rpm_limit: 7 } });
    expect((await audit(`?tenant_id=${t.id}&action=api_key.`)).body.data.map((e) => e.action)).toEqual(["api_key.revoke", "api_key.create"]);
    expect((await audit(`?tenant_id=${t.id}&action=tenant.create`)).body.data).toHaveLength(1);
    expect((await audit(`?tenant_id=${other.tenantId}&action=tenant.update`)).body.data).toEqual([]);

    const first = await audit(`?tenant_id=${t.id}&limit=3`);
    expect([first.body.data.length, first.body.has_more]).toEqual([3, true]);
    const next = await audit(`?tenant_id=${t.id}&limit=3&after=${first.body.data[2]!.id}`);
    expect([next.body.data.map((e) => e.action), next.body.has_more]).toEqual([["tenant.create"], false]);
  });

  it("needs the admin token and refuses a bad page size, naming it", async () => {
    const t = await newTenant();
    expect((await audit("", t.headers)).status).toBe(401);
    const bad = await audit("?limit=0");
    expect([bad.status, bad.body.error?.param]).toEqual([400, "limit"]);
  });
});

describe("OpenAPI", () => {
  it("serves an OpenAPI 3.1 document generated from the zod schemas, and a docs page", async () => {
    const doc = (await (await call("/openapi.json")).json()) as { openapi: string; paths: Record<string, unknown>; components: { schemas: Record<string, unknown> } };
    expect(doc.openapi).toBe("3.1.0");
    for (const p of ["/v1/chat/completions", "/v1/models", "/health", "/health/deep", "/admin/tenants", "/admin/tenants/{id}/keys"]) {
      expect(doc.paths[p], p).toBeDefined();
    }
    expect(doc.components.schemas.ChatCompletionRequest).toBeDefined();
    const docs = await call("/docs");
    expect(docs.status).toBe(200);
    expect(docs.headers.get("content-type")).toMatch(/^text\/html/); // the page itself: docs-page.test.ts
  });

  it("documents every route the gateway answers, with its method", async () => {
    const doc = (await (await call("/openapi.json")).json()) as { paths: Record<string, Record<string, unknown>> };
    const documented = new Set(Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`)));
    // Hono's `:id` (and `:model{.+}`) is OpenAPI's `{id}`; ALL entries are middleware, not routes.
    const answered = createApp()
      .routes.filter((r) => r.method !== "ALL")
      .map((r) => `${r.method} ${r.path.replace(/:(\w+)(\{[^}]*\})?/g, "{$1}")}`)
      .filter((r) => r !== "GET /openapi.json" && !r.startsWith("GET /docs")); // the docs page and its assets
    expect([...new Set(answered)].filter((r) => !documented.has(r))).toEqual([]);
    expect(documented.size).toBeGreaterThanOrEqual(50);
  });

  it("describes the upload form and the runner's socket without validating them through the document", async () => {
    const doc = (await (await call("/openapi.json")).json()) as { paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: { required: string[] } }> }; security?: unknown }>> };
    expect(doc.paths["/v1/files"]!.post!.requestBody!.content["multipart/form-data"]!.schema.required).toEqual(["file", "purpose"]);
    expect(doc.paths["/v1/runners/connect"]!.get!.security).toEqual([{ runner: [] }]);
  });
});
