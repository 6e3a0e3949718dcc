/**
 * Revoking a key or suspending a tenant through the admin API closes the session sockets opened with it at
 * once (close codes 4401 / 4403, after an `error` frame saying why), and leaves every other socket alone.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { withDirective } from "../../../test/mock-upstream/directive.js";
import { admin, call, newTenant, type TenantFixture } from "../../../test/support/fixtures.js";
import { SessionClient } from "../../orchestrator/test/session-client.js";

const done = (id: string) => (f: { type: string; id?: string; role?: unknown }) => f.type === "message" && f.id === id && f.role === "assistant";
const chat = (id: string) => ({ type: "chat", id, content: withDirective("hi", { text: `answer ${id}` }) });

async function createSession(t: TenantFixture) {
  const res = await call("/v1/sessions", { method: "POST", headers: t.headers, body: JSON.stringify({ model: "mock-model" }) });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

async function open(sessionId: string, key: string) {
  const c = SessionClient.from(await call(`/v1/sessions/${sessionId}/ws`, { headers: { authorization: `Bearer ${key}`, upgrade: "websocket" } }));
  await c.waitFor((f) => f.type === "ready");
  return c;
}

const messages = async (t: TenantFixture, sessionId: string) =>
  ((await (await call(`/v1/sessions/${sessionId}/messages`, { headers: t.headers })).json()) as { data: { id: string; role: string }[] }).data;

describe("admin revocations reach open session sockets", () => {
  it("revoking a key closes its sockets (4401) and no further chat of it is answered; another key's socket stays", async () => {
    const t = await newTenant();
    const other = await admin<{ id: string; key: string }>("POST", `/admin/tenants/${t.tenantId}/keys`, { name: "other" });
    const sessionId = await createSession(t);
    const revoked = await open(sessionId, t.key);
    const kept = await open(sessionId, other.key);
    kept.send({ type: "resume", after_seq: 0 });
    revoked.send(chat("before"));
    await revoked.waitFor(done("before"));

    await admin("DELETE", `/admin/tenants/${t.tenantId}/keys/${t.keyId}`);
    expect(await revoked.waitFor((f) => f.type === "error" && f.code === "api_key_revoked")).toMatchObject({ message: expect.stringContaining("revoked") });
    expect(await revoked.waitClosed()).toEqual({ code: 4401, reason: "api key revoked" });
    try {
      revoked.send(chat("after"));
    } catch {
      // A closed socket may refuse to send at all: either way nothing may answer it.
    }

    kept.send(chat("kept"));
    await kept.waitFor(done("kept"));
    expect(kept.closed).toBeNull();
    const otherHeaders = { authorization: `Bearer ${other.key}` };
    const page = ((await (await call(`/v1/sessions/${sessionId}/messages`, { headers: otherHeaders })).json()) as { data: { id: string }[] }).data;
    expect(page.map((m) => m.id)).toEqual(["before", "before", "kept", "kept"]);
    expect(kept.frames.some((f) => f.id === "after")).toBe(false);
    kept.close();
  });

  it("a socket is not opened with a key revoked moments ago, though this isolate's cache still admits its requests", async () => {
    const t = await newTenant();
    const sessionId = await createSession(t);
    // Revoked in D1 behind this isolate's back (as another isolate's admin call would): its cache still says valid.
    await (env as unknown as { DB: D1Database }).DB.prepare("UPDATE api_keys SET revoked_at = ? WHERE id = ?").bind(Date.now(), t.keyId).run();
    expect((await call("/v1/models", { headers: t.headers })).status).toBe(200);
    const res = await call(`/v1/sessions/${sessionId}/ws`, { headers: { authorization: `Bearer ${t.key}`, upgrade: "websocket" } });
    expect(res.status).toBe(401);
    expect(res.webSocket).toBeNull();
  });

  it("suspending a tenant closes all its session sockets (4403); a tenant without sessions is suspended as before", async () => {
    const t = await newTenant();
    const a = await createSession(t);
    const b = await createSession(t);
    const sockets = [await open(a, t.key), await open(b, t.key)];
    expect(await messages(t, a)).toEqual([]);
    const res = await admin<{ status: string }>("PATCH", `/admin/tenants/${t.tenantId}`, { status: "suspended" });
    expect(res.status).toBe("suspended");
    for (const c of sockets) {
      await c.waitFor((f) => f.type === "error" && f.code === "tenant_suspended");
      expect(await c.waitClosed()).toEqual({ code: 4403, reason: "tenant suspended" });
    }
    const empty = await newTenant();
    expect((await admin<{ status: string }>("PATCH", `/admin/tenants/${empty.tenantId}`, { status: "suspended" })).status).toBe("suspended");
  });
});
