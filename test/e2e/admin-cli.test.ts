import { execFileSync } from "node:child_process";
import { resolve } from "node:path";
import OpenAI from "openai";
import { describe, expect, inject, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");
const admin = (...args: string[]) =>
  JSON.parse(
    execFileSync(process.execPath, [resolve(ROOT, "scripts/admin.ts"), ...args, "--url", inject("stackUrl"), "--token", inject("stackAdmin")], { encoding: "utf8" }),
  );

describe("npm run admin against the local stack", () => {
  it("creates a tenant and a key that then answers, and revokes it", async () => {
    const tenant = admin("tenants", "create", "cli-tenant", "--rpm", "100");
    expect(tenant).toMatchObject({ object: "tenant", name: "cli-tenant", rpm_limit: 100 });
    const key = admin("keys", "create", tenant.id, "--name", "cli", "--scopes", "chat");
    expect(key.key).toMatch(/^sk-cio-/);
    const client = new OpenAI({ baseURL: `${inject("stackUrl")}/v1`, apiKey: key.key, maxRetries: 0 });
    const r = await client.chat.completions.create({ model: "mock-model", messages: [{ role: "user", content: "hi" }] });
    expect(r.choices[0]!.message.content).toBe("Echo: hi");
    expect(admin("keys", "list", tenant.id).data).toHaveLength(1);
    expect(admin("keys", "revoke", tenant.id, key.id).revoked_at).toBeGreaterThan(0);
    const err = await client.chat.completions.create({ model: "mock-model", messages: [{ role: "user", content: "hi" }] }).catch((e) => e);
    expect(err.status).toBe(401);
    const token = admin("runner-tokens", "create", tenant.id, "db-1");
    expect(token.token).toMatch(/^rt-cio-/);
    expect(admin("audit", "--tenant", tenant.id, "--action", "api_key.").data.map((e: { action: string }) => e.action)).toEqual(["api_key.revoke", "api_key.create"]);
    const usage = admin("tenants", "usage", tenant.id, "--start", "2026-01-01", "--end", "2026-01-07");
    expect(usage).toMatchObject({ object: "usage", tenant_id: tenant.id, start_date: "2026-01-01", end_date: "2026-01-07", data: [], total: { requests: 0 } });
  });

  it("fails with a clear message and a non-zero exit when the stack is unreachable", () => {
    let failure: { status: number; stderr: string } | undefined;
    try {
      execFileSync(process.execPath, [resolve(ROOT, "scripts/admin.ts"), "tenants", "list", "--url", "http://127.0.0.1:1", "--token", "x"], { encoding: "utf8", stdio: "pipe" });
    } catch (e) {
      failure = e as { status: number; stderr: string };
    }
    expect(failure?.status).not.toBe(0);
    expect(failure?.stderr).toContain("Cannot reach http://127.0.0.1:1");
  });
});
