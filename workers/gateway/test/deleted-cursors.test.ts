/**
 * A list's `after` cursor is the last id of the page before, and OpenAI's clients delete as they list
 * (`for await (const f of client.files.list()) await client.files.delete(f.id)`): the next page's cursor names a
 * row just deleted. It keeps the place that row had (deleted_rows), for files, tasks and sessions, deleted by
 * their owner or by a sweep, until the hourly cron forgets it; an id that never was a row is still a 400.
 */
import { env } from "cloudflare:workers";
import OpenAI, { toFile } from "openai";
import { describe, expect, it } from "vitest";
import { forgetDeletedRows } from "../../../lib/db/deleted-rows.js";
import { openDb, schema } from "../../../lib/db/index.js";
import { sweepExpiredFiles } from "../../../lib/heavy/file-expiry.js";
import { Logger } from "../../../lib/log.js";
import { call, gateway, newTenant, type TenantFixture } from "../../../test/support/fixtures.js";
import { uploaded } from "../../../test/support/heavy.js";

const e = env as unknown as { DB: D1Database; FILES: R2Bucket };
const log = new Logger({ component: "test" });

type Page = { data: { id: string }[]; has_more: boolean; last_id: string | null };

/** Lists `path` two at a time, deleting each item before asking for the next page; the ids in the order listed. */
async function deleteWhileListing(t: TenantFixture, path: string): Promise<string[]> {
  const seen: string[] = [];
  for (let after: string | null = null, more = true; more; ) {
    const res = await call(`${path}?limit=2${after ? `&after=${after}` : ""}`, { headers: t.headers });
    expect(res.status, await res.clone().text()).toBe(200);
    const page = await res.json<Page>();
    for (const { id } of page.data) {
      expect((await call(`${path}/${id}`, { method: "DELETE", headers: t.headers })).status).toBe(200);
      seen.push(id);
    }
    [after, more] = [page.last_id, page.has_more];
  }
  return seen;
}

describe("list cursors naming deleted rows", () => {
  it("the openai client deletes every file of a listing, page after page", async () => {
    const t = await newTenant();
    const client = new OpenAI({ apiKey: t.key, baseURL: "https://cio.test/v1", fetch: ((input: string, init?: RequestInit) => gateway().fetch(input, init)) as never, maxRetries: 0 });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await client.files.create({ file: await toFile(new TextEncoder().encode(`a\n${i}\n`), `f${i}.csv`), purpose: "analysis" as never })).id);
    const deleted: string[] = [];
    for await (const f of client.files.list({ limit: 2 })) deleted.push((await client.files.delete(f.id)).id);
    expect(deleted.sort()).toEqual(ids.sort());
  });

  it("keeps a deleted row's place among rows created in the same millisecond, for files, tasks and sessions", async () => {
    const t = await newTenant();
    for (let i = 0; i < 5; i++) await uploaded(t.headers, `f${i}.csv`, "a\n1\n");
    for (let i = 0; i < 5; i++) {
      await openDb(e.DB).insert(schema.tasks).values({ id: `task_${crypto.randomUUID().replace(/-/g, "")}`, tenantId: t.tenantId, type: "chat_completion", status: "succeeded", params: {}, requestId: "r" });
      expect((await call("/v1/sessions", { method: "POST", headers: t.headers, body: "{}" })).status).toBe(201);
    }
    for (const table of ["files", "tasks", "sessions"]) await e.DB.prepare(`UPDATE ${table} SET created_at = 1000 WHERE tenant_id = ?`).bind(t.tenantId).run();
    for (const path of ["/v1/files", "/v1/tasks", "/v1/sessions"]) {
      const seen = await deleteWhileListing(t, path);
      expect(new Set(seen).size, path).toBe(5);
      expect((await (await call(path, { headers: t.headers })).json<Page>()).data).toEqual([]);
    }
  });

  it("goes on past a file the expiry sweep deleted between two pages", async () => {
    const t = await newTenant();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await uploaded(t.headers, `f${i}.csv`, "a\n1\n")).id);
    const first = await (await call("/v1/files?limit=1&order=asc", { headers: t.headers })).json<Page>();
    expect(first.data.map((f) => f.id)).toEqual([ids[0]]);
    await e.DB.prepare("UPDATE files SET expires_at = ? WHERE id = ?").bind(Date.now() - 1, ids[0]).run();
    expect(await sweepExpiredFiles(e, log, 1000)).toBeGreaterThanOrEqual(1);
    const next = await call(`/v1/files?limit=5&order=asc&after=${first.last_id}`, { headers: t.headers });
    expect(next.status).toBe(200);
    expect((await next.json<Page>()).data.map((f) => f.id)).toEqual(ids.slice(1));
  });

  it("is an unknown cursor (400) once forgotten, as an id that never was one; another tenant's deleted id is unknown too", async () => {
    const t = await newTenant();
    const other = await newTenant();
    const file = await uploaded(t.headers, "a.csv", "a\n1\n");
    await uploaded(t.headers, "b.csv", "a\n1\n");
    expect((await call(`/v1/files/${file.id}`, { method: "DELETE", headers: t.headers })).status).toBe(200);
    const after = (who: TenantFixture, id: string) => call(`/v1/files?after=${id}`, { headers: who.headers }).then((r) => r.status);
    expect(await after(t, file.id)).toBe(200);
    expect(await after(other, file.id)).toBe(400);
    expect(await after(t, "file-nope")).toBe(400);
    expect(await forgetDeletedRows(e.DB, log, Date.now() + 1)).toBeGreaterThanOrEqual(1);
    expect(await after(t, file.id)).toBe(400);
  });
});
