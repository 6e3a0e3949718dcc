import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { utcDay } from "../../../lib/time.js";
import { ADMIN, call, chatBody, newTenant, type TenantFixture } from "../../../test/support/fixtures";
import { eventually } from "../../../test/support/eventually";

type Report = Record<string, any>;
const db = () => (env as unknown as { DB: D1Database }).DB;
const usage = async (t: Pick<TenantFixture, "headers">, query = "") => {
  const res = await call(`/v1/usage${query}`, { headers: t.headers });
  return { status: res.status, body: (await res.json()) as Report };
};
async function record(tenantId: string, day: string, model: string, requests: number, prompt: number, completion: number) {
  await db()
    .prepare("INSERT INTO usage (tenant_id, day, model, requests, prompt_tokens, completion_tokens) VALUES (?, ?, ?, ?, ?, ?)")
    .bind(tenantId, day, model, requests, prompt, completion)
    .run();
}

describe("GET /v1/usage", () => {
  it("reports the tenant's answered calls by day and model, with today's tokens against its budget", async () => {
    const t = await newTenant({ daily_token_budget: 100_000 });
    for (const text of ["one", "two"]) {
      const res = await call("/v1/chat/completions", { method: "POST", headers: t.headers, body: chatBody(text) });
      expect(res.status).toBe(200);
    }
    const { status, body } = await eventually(() => usage(t), (r) => r.body.total?.requests === 2);
    expect(status).toBe(200);
    const today = utcDay();
    expect(body).toMatchObject({ object: "usage", tenant_id: t.tenantId, end_date: today, daily_token_budget: 100_000 });
    expect(body.data).toEqual([{ day: today, model: "mock-model", requests: 2, prompt_tokens: expect.any(Number), completion_tokens: expect.any(Number), total_tokens: expect.any(Number) }]);
    const [row] = body.data;
    expect(row.prompt_tokens).toBeGreaterThan(0);
    expect(row.total_tokens).toBe(row.prompt_tokens + row.completion_tokens);
    expect(body.total).toEqual({ requests: 2, prompt_tokens: row.prompt_tokens, completion_tokens: row.completion_tokens, total_tokens: row.total_tokens });
    expect(body.tokens_today).toBe(row.total_tokens);
  });

  it("takes a range of days and a model, orders by day then model, and shows no other tenant's rows", async () => {
    const t = await newTenant();
    const other = await newTenant();
    await record(t.tenantId, "2026-10-30", "b-model", 1, 10, 5);
    await record(t.tenantId, "2026-11-01", "b-model", 2, 20, 10);
    await record(t.tenantId, "2026-11-01", "a-model", 3, 30, 15);
    await record(t.tenantId, "2026-11-03", "a-model", 4, 40, 20);
    await record(other.tenantId, "2026-11-01", "a-model", 9, 90, 90);

    const { body } = await usage(t, "?start_date=2026-11-01&end_date=2026-11-03");
    expect(body).toMatchObject({ start_date: "2026-11-01", end_date: "2026-11-03", daily_token_budget: null, tokens_today: 0 });
    expect(body.data.map((r: Report) => [r.day, r.model, r.requests])).toEqual([["2026-11-01", "a-model", 3], ["2026-11-01", "b-model", 2], ["2026-11-03", "a-model", 4]]);
    expect(body.total).toEqual({ requests: 9, prompt_tokens: 90, completion_tokens: 45, total_tokens: 135 });
    expect((await usage(t, "?start_date=2026-10-01&end_date=2026-11-30&model=b-model")).body.total).toMatchObject({ requests: 3, total_tokens: 45 });
    // A week ending on the day asked for, when no start is given.
    expect((await usage(t, "?end_date=2026-11-05")).body).toMatchObject({ start_date: "2026-10-30", total: { requests: 10 } });
    // The default is the week to today: none of these old rows.
    expect((await usage(t)).body).toMatchObject({ end_date: utcDay(), data: [], total: { requests: 0 } });
    expect((await usage(other, "?start_date=2026-11-01&end_date=2026-11-01")).body.total).toMatchObject({ requests: 9 });
  });

  it("refuses dates that are not dates, a reversed range and one over 366 days, naming the parameter", async () => {
    const t = await newTenant();
    const cases: [string, string][] = [
      ["?start_date=2026-13-01", "start_date"],
      ["?end_date=2026-02-30", "end_date"],
      ["?end_date=yesterday", "end_date"],
      ["?start_date=2026-11-05&end_date=2026-11-01", "start_date"],
      ["?start_date=2025-01-01&end_date=2026-11-01", "start_date"],
    ];
    for (const [query, param] of cases) {
      const { status, body } = await usage(t, query);
      expect([query, status, body.error?.type, body.error?.param]).toEqual([query, 400, "invalid_request_error", param]);
    }
  });

  it("needs the usage scope; a key with it alone may read the report", async () => {
    expect((await usage(await newTenant({}, { scopes: ["chat"] }))).status).toBe(403);
    expect((await usage(await newTenant({}, { scopes: ["usage"] }))).status).toBe(200);
  });
});

describe("GET /admin/tenants/{id}/usage", () => {
  it("gives an admin any tenant's report; an unknown tenant is a 404 and an API key is no admin token", async () => {
    const t = await newTenant({ daily_token_budget: 500 });
    await record(t.tenantId, "2026-11-02", "a-model", 1, 7, 3);
    const res = await call(`/admin/tenants/${t.tenantId}/usage?start_date=2026-11-01&end_date=2026-11-07`, { headers: ADMIN });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ tenant_id: t.tenantId, daily_token_budget: 500, data: [{ day: "2026-11-02", total_tokens: 10 }], total: { total_tokens: 10 } });
    expect((await call("/admin/tenants/ten_nope/usage", { headers: ADMIN })).status).toBe(404);
    expect((await call(`/admin/tenants/${t.tenantId}/usage`, { headers: t.headers })).status).toBe(401);
  });
});
