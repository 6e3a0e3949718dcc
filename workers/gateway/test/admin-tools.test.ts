import { env } from "cloudflare:workers";
import { describe, expect, inject, it } from "vitest";
import { signToolRequest } from "../../../lib/tools/signature.js";
import { admin, call, newTenant, ADMIN, type TenantFixture } from "../../../test/support/fixtures.js";

const origin = () => inject("upstreamUrl").replace(/\/v1$/, "");
const manifest = (name: string) => ({
  name,
  description: "Weather forecast lookup for a city",
  parameters: { type: "object", properties: {} },
  timeoutMs: 2000,
  version: "1.0.0",
  examples: ["weather forecast for Paris"],
});

async function ask(t: TenantFixture) {
  const res = await call("/v1/chat/completions", { method: "POST", headers: t.headers, body: JSON.stringify({ model: "cio/auto", messages: [{ role: "user", content: "weather forecast for Paris" }] }) });
  expect(res.status).toBe(200);
  return ((await res.json()) as { cio: { tools: { name: string; ok: boolean }[] } }).cio.tools;
}

describe("admin: the tool registry", () => {
  it("registers a private HTTPS tool that only tenants on its allow-list get, and switches it off", async () => {
    const name = `forecast-${crypto.randomUUID().slice(0, 8)}`;
    const created = await admin("POST", "/admin/tools", { url: `${origin()}/tools/${name}`, manifest: manifest(name) });
    expect(created).toMatchObject({ name, object: "tool", transport: "https", enabled: true, public: false });
    const [allowed, other] = [await newTenant(), await newTenant()];
    await admin("PUT", `/admin/tenants/${allowed.tenantId}/tools/${name}`);
    expect(await ask(allowed)).toEqual([expect.objectContaining({ name, ok: true })]);
    expect((await ask(other)).map((t) => t.name)).not.toContain(name);
    const listed = await admin<{ data: { name: string; transport: string }[] }>("GET", "/admin/tools");
    expect(listed.data).toEqual(expect.arrayContaining([expect.objectContaining({ name, transport: "https" }), expect.objectContaining({ name: "technical-analysis", transport: "rpc" })]));
    expect(await admin("PATCH", `/admin/tools/${name}`, { enabled: false })).toMatchObject({ enabled: false });
    expect((await ask(allowed)).map((t) => t.name)).not.toContain(name);
    await admin("PATCH", `/admin/tools/${name}`, { enabled: true });
    await admin("DELETE", `/admin/tenants/${allowed.tenantId}/tools/${name}`);
    expect((await ask(allowed)).map((t) => t.name)).not.toContain(name);
  });

  it("re-registering a tool to update its manifest keeps its visibility unless the body states it", async () => {
    const name = `republished-${crypto.randomUUID().slice(0, 8)}`;
    const url = `${origin()}/tools/${name}`;
    expect(await admin("POST", "/admin/tools", { url, manifest: manifest(name), public: true })).toMatchObject({ public: true });
    // A new version of the service, registered as a new one would be: it stays offered to every tenant.
    expect(await admin("POST", "/admin/tools", { url, manifest: { ...manifest(name), version: "1.0.1" } })).toMatchObject({ public: true, version: "1.0.1" });
    expect((await ask(await newTenant())).map((t) => t.name)).toContain(name);
    // Stated, it is applied: PATCH is not the only way to change it.
    expect(await admin("POST", "/admin/tools", { url, manifest: manifest(name), public: false })).toMatchObject({ public: false });
    expect(await admin("POST", "/admin/tools", { url, manifest: manifest(name) })).toMatchObject({ public: false });
  });

  it("refuses a manifest whose parameters no call could be checked with (400 on manifest.parameters), wherever the fault is", async () => {
    const post = (name: string, parameters: Record<string, unknown>) =>
      call("/admin/tools", { method: "POST", headers: ADMIN, body: JSON.stringify({ url: `${origin()}/tools/${name}`, manifest: { ...manifest(name), parameters } }) });
    const broken = {
      "unresolved $ref": { type: "object", properties: { city: { type: "string" } }, allOf: [{ $ref: "#/$defs/place" }] },
      // Only a call that sends `mode` reaches this one.
      "invalid pattern": { type: "object", properties: { mode: { type: "string", pattern: "(" } } },
    };
    for (const [why, parameters] of Object.entries(broken)) {
      const name = `badschema-${crypto.randomUUID().slice(0, 8)}`;
      const res = await post(name, parameters);
      expect(res.status, why).toBe(400);
      expect(await res.json(), why).toMatchObject({ error: { param: "manifest.parameters", code: "invalid_tool_schema" } });
      expect(await (env as unknown as { DB: D1Database }).DB.prepare("SELECT name FROM tools WHERE name = ?").bind(name).first(), why).toBeNull();
    }
    const name = `refs-${crypto.randomUUID().slice(0, 8)}`;
    const usable = { type: "object", $defs: { place: { type: "string", pattern: "^\\p{L}+$" } }, properties: { city: { $ref: "#/$defs/place" } } };
    expect((await post(name, usable)).status).toBe(201);
  });

  it("gives each HTTPS tool its own signing secret: a call signed for one is refused by another", async () => {
    const [a, b] = ["a", "b"].map((x) => `signed-${x}-${crypto.randomUUID().slice(0, 8)}`) as [string, string];
    const register = (name: string) => admin<{ signing_secret: string }>("POST", "/admin/tools", { url: `${origin()}/tools/${name}`, manifest: manifest(name) });
    const [forA, forB] = [(await register(a)).signing_secret, (await register(b)).signing_secret];
    expect(forA).toMatch(/^[0-9a-f]{64}$/);
    expect(forA).not.toBe(forB);
    // What tool a's operator can sign with its secret: calls to a, not to b (nor, naming any tenant, to any other).
    const body = JSON.stringify({ args: { mode: "echo" }, tenantId: "ten_someone", requestId: "r", deadline: Date.now() + 5000 });
    const headers = { "content-type": "application/json", ...(await signToolRequest(forA, body)) };
    expect((await fetch(`${origin()}/tools/${a}/execute`, { method: "POST", headers, body })).status).toBe(200);
    expect((await fetch(`${origin()}/tools/${b}/execute`, { method: "POST", headers, body })).status).toBe(401);
  });

  it("registers a tool and its audit row together or neither", async () => {
    const name = `unaudited-${crypto.randomUUID().slice(0, 8)}`;
    const db = (env as unknown as { DB: D1Database }).DB;
    // The audit log refuses this one row, as a D1 failure between the two writes would.
    await db.prepare(`CREATE TRIGGER "refuse_${name}" BEFORE INSERT ON audit_log WHEN NEW.target = '${name}' BEGIN SELECT RAISE(ABORT, 'audit down'); END`).run();
    try {
      const res = await call("/admin/tools", { method: "POST", headers: ADMIN, body: JSON.stringify({ url: `${origin()}/tools/${name}`, manifest: manifest(name) }) });
      expect(res.status).toBe(500);
      expect((await db.prepare("SELECT name FROM tools WHERE name = ?").bind(name).all()).results).toEqual([]);
    } finally {
      await db.prepare(`DROP TRIGGER "refuse_${name}"`).run();
    }
  });

  it("refuses plain http to other hosts, a bound tool's name, bad manifests and unknown tenants", async () => {
    const post = (body: unknown) => call("/admin/tools", { method: "POST", headers: ADMIN, body: JSON.stringify(body) });
    expect((await post({ url: "http://tools.example.com", manifest: manifest("remote-x") })).status).toBe(400);
    const taken = await post({ url: "https://tools.example.com", manifest: manifest("technical-analysis") });
    expect(taken.status).toBe(409);
    expect(await taken.json()).toMatchObject({ error: { code: "tool_name_taken" } });
    expect((await post({ url: "https://tools.example.com", manifest: { ...manifest("bad"), timeoutMs: -1 } })).status).toBe(400);
    expect((await call("/admin/tenants/ten_nope/tools/technical-analysis", { method: "PUT", headers: ADMIN })).status).toBe(404);
    expect((await call("/admin/tools", { headers: { authorization: "Bearer wrong" } })).status).toBe(401);
  });
});
