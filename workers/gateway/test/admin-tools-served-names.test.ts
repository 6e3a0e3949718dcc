/**
 * POST /admin/tools on a fresh deployment, before anything has seeded the registry (the first cio/auto answer
 * or /health/deep does): the tools table holds no built-in yet, and the names the deployment serves must be
 * refused all the same. Each test file has a D1 and a runtime of its own; this file's first request is the
 * registration, so keep anything that chats or asks /health/deep after it.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { admin, call, ADMIN, newTenant } from "../../../test/support/fixtures.js";

const db = () => (env as unknown as { DB: D1Database }).DB;
const rows = async () => (await db().prepare("SELECT name FROM tools").all()).results;

const register = (name: string) =>
  call("/admin/tools", {
    method: "POST",
    headers: ADMIN,
    // The operator's own service under a built-in's name, private (the default) for a few tenants.
    body: JSON.stringify({ url: "https://tools.example.com/mine", manifest: { name, description: "Our own", parameters: { type: "object", properties: {} }, timeoutMs: 2000, version: "1.0.0" } }),
  });

describe("admin: the names of the tools this deployment serves, before the registry's first seed", () => {
  it("refuses a bound Worker's and a local tool's name (409 tool_name_taken), and the built-in stays public for every tenant", async () => {
    expect(await rows()).toEqual([]); // not seeded yet: D1 alone could not tell these names are taken
    for (const name of ["market-data", "sql"]) {
      const res = await register(name);
      expect(res.status, name).toBe(409);
      expect(await res.json()).toMatchObject({ error: { code: "tool_name_taken", param: "manifest.name" } });
    }
    expect(await rows()).toEqual([]);

    // The first chat seeds the registry: a new tenant's price question is answered with the bound Worker.
    const t = await newTenant();
    const chat = await call("/v1/chat/completions", { method: "POST", headers: t.headers, body: JSON.stringify({ model: "cio/auto", messages: [{ role: "user", content: "price of BTCUSDT" }] }) });
    expect(chat.status).toBe(200);
    expect(((await chat.json()) as { cio: { tools: { name: string }[] } }).cio.tools.map((x) => x.name)).toContain("market-data");
    const tools = await admin<{ data: { name: string }[] }>("GET", "/admin/tools");
    expect(tools.data.find((x) => x.name === "market-data")).toMatchObject({ transport: "rpc", target: "TOOL_MARKET_DATA", public: true, enabled: true });
  });
});
