/**
 * CIO_ADMIN_TOKEN is read as `Authorization: Bearer <token>` up to the first space: a token holding one could
 * never authenticate, so it is refused as configuration (a logged error naming it), never accepted silently.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import app from "../src/index";
import { gatewaySettings } from "../src/settings";

afterEach(() => vi.restoreAllMocks());

async function adminCall(token: string, configured: string): Promise<Response> {
  const ctx = createExecutionContext();
  const req = new Request("https://cio.test/admin/tenants", { headers: { authorization: `Bearer ${token}`, "x-request-id": "admin-token-setting" } });
  const res = await app.fetch(req, { ...env, CIO_ADMIN_TOKEN: configured }, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

describe("CIO_ADMIN_TOKEN", () => {
  it("holding a space or a control character is refused as configuration, naming the variable", () => {
    for (const bad of ["correct horse battery staple", "adm-\ttab", "adm-é"]) {
      expect(() => gatewaySettings({ ...env, CIO_ADMIN_TOKEN: bad })).toThrow(/^invalid configuration: .*no spaces[\s\S]*→ at CIO_ADMIN_TOKEN/);
    }
  });

  it("a request then fails loudly: a 500 and a logged error saying why, not a 401 for the right token", async () => {
    const lines: string[] = [];
    vi.spyOn(console, "log").mockImplementation((line: unknown) => void lines.push(String(line)));
    const token = "correct horse battery staple";
    const res = await adminCall(token, token);
    expect(res.status).toBe(500);
    expect(await res.json()).toMatchObject({ error: { type: "server_error", message: "Internal server error." } });
    const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.requestId === "admin-token-setting" && l.level === "error");
    expect(JSON.stringify(logged)).toMatch(/invalid configuration[\s\S]*CIO_ADMIN_TOKEN/);
  });

  it("whitespace around the token (a pasted secret's newline) is trimmed, and the token authenticates", async () => {
    expect((await adminCall("adm-secret-token", "  adm-secret-token\n")).status).toBe(200);
    expect(gatewaySettings({ ...env, CIO_ADMIN_TOKEN: " \n" }).CIO_ADMIN_TOKEN).toBeUndefined();
  });
});
