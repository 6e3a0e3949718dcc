/**
 * The admin lists (tenants, a tenant's keys and runner tokens, the tool registry) come a page at a time, as
 * /admin/audit does: `limit` and `after`, and `has_more` says when more follow. The tenant list stopped at
 * 1,000 rows with nothing saying so; the others had no bound at all.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ADMIN, admin, call, newTenant } from "../../../test/support/fixtures";

type Page = { object: "list"; data: { id?: string; name?: string }[]; has_more: boolean; first_id: string | null; last_id: string | null };

const db = () => (env as unknown as { DB: D1Database }).DB;

/** Every item of the list at `path`, following `after` from page to page; and how many pages that took. */
async function walk(path: string, limit: number): Promise<{ items: string[]; pages: number }> {
  const items: string[] = [];
  let after: string | null = null;
  for (let pages = 1; ; pages++) {
    const page: Page = await admin<Page>("GET", `${path}?limit=${limit}${after ? `&after=${encodeURIComponent(after)}` : ""}`);
    items.push(...page.data.map((x) => (x.id ?? x.name)!));
    expect(page.last_id).toBe(items.at(-1) ?? null);
    if (!page.has_more) return { items, pages };
    after = page.last_id;
  }
}

describe("admin lists", () => {
  it("list every tenant past 1,000, a page at a time, saying when more follow", async () => {
    const bulk = Array.from({ length: 1001 }, (_, i) => db().prepare("INSERT INTO tenants (id, name) VALUES (?, ?)").bind(`ten_bulk_${i}`, `bulk ${i}`));
    await db().batch(bulk);
    const total = (await db().prepare("SELECT COUNT(*) AS n FROM tenants").first<{ n: number }>())!.n;
    const first = await admin<Page>("GET", "/admin/tenants");
    expect({ listed: first.data.length, has_more: first.has_more }).toEqual({ listed: 100, has_more: true });
    const { items, pages } = await walk("/admin/tenants", 1000);
    expect(new Set(items).size).toBe(total);
    expect(items.length).toBe(total);
    expect(pages).toBe(Math.ceil(total / 1000));
  });

  it("page a tenant's API keys and runner tokens", async () => {
    const t = await newTenant(); // with one key
    for (let i = 0; i < 4; i++) await admin("POST", `/admin/tenants/${t.tenantId}/keys`, { name: `k${i}` });
    for (let i = 0; i < 5; i++) await admin("POST", `/admin/tenants/${t.tenantId}/runner-tokens`, { runner_name: `db-${i}` });
    for (const list of ["keys", "runner-tokens"]) {
      const { items, pages } = await walk(`/admin/tenants/${t.tenantId}/${list}`, 2);
      expect({ list, listed: new Set(items).size, pages }).toEqual({ list, listed: 5, pages: 3 });
    }
  });

  it("page the tool registry by name", async () => {
    const manifest = JSON.stringify({ name: "x", version: "1.0.0", description: "listed" });
    const rows = ["list-c", "list-a", "list-b"].map((n) => db().prepare("INSERT INTO tools (name, transport, target, manifest) VALUES (?, 'https', 'https://tools.example', ?)").bind(n, manifest));
    await db().batch(rows);
    const all = await admin<Page>("GET", "/admin/tools?limit=1000");
    expect(all.data.map((t) => t.name)).toEqual(expect.arrayContaining(["list-a", "list-b", "list-c"]));
    const { items } = await walk("/admin/tools", 2);
    expect(items).toEqual(all.data.map((t) => t.name));
  });

  it("refuse an unknown cursor and a page over 1,000", async () => {
    expect((await call("/admin/tenants?after=ten_nope", { headers: ADMIN })).status).toBe(400);
    expect((await call("/admin/tenants?limit=1001", { headers: ADMIN })).status).toBe(400);
  });
});
