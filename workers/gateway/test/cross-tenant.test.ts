/**
 * Every way one tenant could name another's resource through the public API, refused: list cursors, ids in
 * paths, ids chosen by the caller, and the admin routes that take a tenant in the path. (Reads and deletes by
 * id have their own tests beside each route.)
 */
import { describe, expect, it } from "vitest";
import { withDirective } from "../../../test/mock-upstream/directive.js";
import { admin, ADMIN, call, newTenant, type TenantFixture } from "../../../test/support/fixtures.js";
import { uploaded } from "../../../test/support/heavy.js";

const send = (t: TenantFixture, method: string, path: string, body?: unknown) =>
  call(path, { method, headers: t.headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
const ids = async (t: TenantFixture, path: string) => ((await (await send(t, "GET", path)).json()) as { data: { id: string }[] }).data.map((x) => x.id);
const says = (option: string) => JSON.stringify({ option, confidence: 0.9, reasoning: `${option} it is.` });
const councilBody = (id?: string) => ({
  ...(id ? { id } : {}),
  question: withDirective("Agree?", { text: says("YES") }),
  assistants: [{ id: "alpha", persona: "You are alpha.", model: "mock-model" }],
  options: ["YES", "NO"],
  max_rounds: 1,
});

describe("one tenant naming another's resources", () => {
  it("lists show only the caller's files, batches and sessions, and another tenant's id is no cursor", async () => {
    const [mine, theirs] = [await newTenant(), await newTenant()];
    const own = await uploaded(mine.headers, "mine.csv", "a\n1\n");
    const other = await uploaded(theirs.headers, "theirs.csv", "a\n1\n");
    const otherBatchInput = await uploaded(theirs.headers, "in.jsonl", `${JSON.stringify({ custom_id: "r", method: "POST", url: "/v1/chat/completions", body: { model: "mock-model", messages: [{ role: "user", content: "hi" }] } })}\n`, "batch");
    const otherBatch = (await (await send(theirs, "POST", "/v1/batches", { input_file_id: otherBatchInput.id, endpoint: "/v1/chat/completions", completion_window: "24h" })).json()) as { id: string };
    const otherSession = (await (await send(theirs, "POST", "/v1/sessions", {})).json()) as { id: string };

    expect(await ids(mine, "/v1/files")).toEqual([own.id]);
    expect(await ids(mine, "/v1/batches")).toEqual([]);
    expect(await ids(mine, "/v1/sessions")).toEqual([]);
    for (const path of [`/v1/files?after=${other.id}`, `/v1/batches?after=${otherBatch.id}`, `/v1/sessions?after=${otherSession.id}`]) {
      const res = await send(mine, "GET", path);
      expect([path, res.status]).toEqual([path, 400]);
      expect(await res.json()).toMatchObject({ error: { param: "after" } });
    }
  });

  it("a council id another tenant chose is free for this one, and the two stay apart", async () => {
    const [a, b] = [await newTenant(), await newTenant()];
    const id = `shared-${crypto.randomUUID().slice(0, 8)}`;
    expect((await send(a, "POST", "/v1/councils", councilBody(id))).status).toBe(201);
    expect((await send(b, "POST", "/v1/councils", { ...councilBody(id), question: withDirective("Other?", { text: says("NO") }) })).status).toBe(201);
    const seen = async (t: TenantFixture) => ((await (await send(t, "GET", `/v1/councils/${id}`)).json()) as { question: string }).question;
    expect(await seen(a)).toContain("Agree?");
    expect(await seen(b)).toContain("Other?");
  });

  it("a council cannot report to another tenant's session, nor be decided or scored by another tenant", async () => {
    const [mine, theirs] = [await newTenant(), await newTenant()];
    const theirSession = (await (await send(theirs, "POST", "/v1/sessions", {})).json()) as { id: string };
    const toTheirs = await send(mine, "POST", "/v1/councils", { ...councilBody(), session_id: theirSession.id });
    expect(toTheirs.status).toBe(400);
    expect(await toTheirs.json()).toMatchObject({ error: { param: "session_id", code: "session_not_found" } });

    const { id } = (await (await send(theirs, "POST", "/v1/councils", councilBody())).json()) as { id: string };
    for (const [path, body] of [[`/v1/councils/${id}/decision`, { option: "NO" }], [`/v1/councils/${id}/outcome`, { option: "NO" }]] as const) {
      const res = await send(mine, "POST", path, body);
      expect([path, res.status]).toEqual([path, 404]);
      expect(await res.json()).toMatchObject({ error: { code: "council_not_found" } });
    }
  });

  it("the trading desk is per tenant: another's watched symbol cannot be dropped, its limits and book are not shared", async () => {
    const [mine, theirs] = [await newTenant(), await newTenant()];
    expect((await send(theirs, "POST", "/v1/trading/watch-list", { symbol: "SOLUSDT" })).status).toBe(200);
    const limits = { max_position: 100, max_daily_loss: 10, order_notional: 5 };
    expect((await send(theirs, "PUT", "/v1/trading/risk-limits", limits)).status).toBe(200);

    expect((await send(mine, "DELETE", "/v1/trading/watch-list/SOLUSDT")).status).toBe(404);
    expect(await (await send(theirs, "GET", "/v1/trading/watch-list")).json()).toMatchObject({ data: [{ symbol: "SOLUSDT" }] });
    expect(await (await send(mine, "GET", "/v1/trading/risk-limits")).json()).toMatchObject({ source: "default" });
    expect(await (await send(mine, "GET", "/v1/trading/positions")).json()).toEqual({ object: "paper_book", positions: [], orders: [] });
  });

  it("admin routes that name a tenant reach only that tenant's runner tokens", async () => {
    const [a, b] = [await newTenant(), await newTenant()];
    const tok = await admin<{ id: string }>("POST", `/admin/tenants/${b.tenantId}/runner-tokens`, { runner_name: "warehouse" });
    const res = await call(`/admin/tenants/${a.tenantId}/runner-tokens/${tok.id}`, { method: "DELETE", headers: ADMIN });
    expect(res.status).toBe(404);
    const listed = await admin<{ data: { id: string; revoked_at: number | null }[] }>("GET", `/admin/tenants/${b.tenantId}/runner-tokens`);
    expect(listed.data).toEqual([expect.objectContaining({ id: tok.id, revoked_at: null })]);
  });
});
