/**
 * The in-process local stack (Miniflare on real sockets) in front of the scripted mock upstream, with a
 * tenant of its own, for end-to-end tests about clients that go away: keys are made per test, with the
 * limits the test needs.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startMiniflareStack, type MiniflareStack } from "../../scripts/lib/miniflare-stack.ts";
import { startMockUpstream, type MockUpstream } from "../mock-upstream/server.ts";
import { freePort } from "./stack.ts";

export interface TenantStack {
  mock: MockUpstream;
  stack: MiniflareStack;
  /** The stack's state folder (its local D1 and R2, as wrangler lays them out). */
  stateDir: string;
  /** A new key of the tenant with these limits; returns the key itself. */
  newKey(limits: { rpm_limit: number; concurrency_limit: number }): Promise<string>;
  stop(): Promise<void>;
}

export async function startTenantStack(name: string, vars: Record<string, string>): Promise<TenantStack> {
  const mock = await startMockUpstream();
  const stateDir = mkdtempSync(join(tmpdir(), `cio-${name}-`));
  const stack = await startMiniflareStack({
    port: await freePort(),
    stateDir,
    vars: { CIO_UPSTREAM_BASE_URL: mock.url, CIO_UPSTREAM_MODELS: "mock-model", CIO_LOG_LEVEL: "error", ...vars },
  });
  const h = { authorization: `Bearer ${stack.adminToken}`, "content-type": "application/json" };
  const post = async (path: string, body: unknown) => (await (await fetch(`${stack.url}${path}`, { method: "POST", headers: h, body: JSON.stringify(body) })).json()) as { id: string; key: string };
  // The tenant's own limits stay out of the way: each test sets the key's.
  const tenant = await post("/admin/tenants", { name, rpm_limit: 1_000_000, concurrency_limit: 1000 });
  return {
    mock,
    stack,
    stateDir,
    newKey: async (limits) => (await post(`/admin/tenants/${tenant.id}/keys`, { name, ...limits })).key,
    stop: async () => {
      await stack.stop();
      await mock.close();
    },
  };
}
