/**
 * Test fixtures that go through the real admin API: a tenant and a key are made exactly as an operator
 * would make them, so the tests exercise the same code paths as production.
 */
import { exports } from "cloudflare:workers";

export const ADMIN = { authorization: "Bearer test-admin-token", "content-type": "application/json" };

type Fetchable = { fetch(input: string | Request, init?: RequestInit): Promise<Response> };
export const gateway = (): Fetchable => (exports as unknown as { default: Fetchable }).default;

export async function call(path: string, init: RequestInit = {}): Promise<Response> {
  return gateway().fetch(`https://cio.test${path}`, init);
}

export async function admin<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await call(path, { method, headers: ADMIN, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

export interface TenantFixture {
  tenantId: string;
  key: string;
  keyId: string;
  headers: Record<string, string>;
}

export async function newTenant(limits: Record<string, unknown> = {}, keyBody: Record<string, unknown> = {}): Promise<TenantFixture> {
  const t = await admin<{ id: string }>("POST", "/admin/tenants", { name: `t-${crypto.randomUUID().slice(0, 8)}`, ...limits });
  const k = await admin<{ id: string; key: string }>("POST", `/admin/tenants/${t.id}/keys`, { name: "test", ...keyBody });
  return { tenantId: t.id, key: k.key, keyId: k.id, headers: { authorization: `Bearer ${k.key}`, "content-type": "application/json" } };
}

export const chatBody = (content: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ model: "mock-model", messages: [{ role: "user", content }], ...extra });

/** Reads an SSE body into its `data:` payloads (JSON-parsed, `[DONE]` kept as a string). */
export async function readSse(res: Response): Promise<unknown[]> {
  const text = await res.text();
  return text
    .split("\n\n")
    .filter((block) => block.startsWith("data: "))
    .map((block) => block.slice(6))
    .map((data) => (data === "[DONE]" ? data : JSON.parse(data)));
}
