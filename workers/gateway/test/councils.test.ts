import { describe, expect, it } from "vitest";
import { withDirective } from "../../../test/mock-upstream/directive.js";
import { call, newTenant } from "../../../test/support/fixtures.js";

const says = (option: string) => JSON.stringify({ option, confidence: 0.9, reasoning: `${option} it is.` });
const question = (q: string, a: string, b: string) =>
  withDirective(q, { cases: [{ when: ["You are alpha."], text: says(a) }, { when: ["You are beta."], text: says(b) }] });
const assistants = [
  { id: "alpha", persona: "You are alpha.", model: "mock-model" },
  { id: "beta", persona: "You are beta.", model: "mock-model" },
];

async function until(path: string, headers: Record<string, string>, done: (b: { status: string }) => boolean) {
  for (let i = 0; i < 400; i++) {
    const body = (await (await call(path, { headers })).json()) as { status: string };
    if (done(body)) return body as Record<string, unknown> & { status: string };
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`${path} never settled`);
}

describe("/v1/councils", () => {
  it("starts a council, returns its whole record, and takes the human's decision after an escalation", async () => {
    const t = await newTenant();
    const res = await call("/v1/councils", { method: "POST", headers: t.headers, body: JSON.stringify({ question: question("Which way?", "LEFT", "RIGHT"), assistants, options: ["LEFT", "RIGHT"], max_rounds: 1, threshold: 0.75 }) });
    expect(res.status).toBe(201);
    expect(res.headers.get("x-request-id")).toBeTruthy();
    const created = (await res.json()) as { id: string; object: string; status: string };
    expect(created).toMatchObject({ object: "council", status: "running" });

    const escalated = await until(`/v1/councils/${created.id}`, t.headers, (b) => b.status !== "running");
    expect(escalated).toMatchObject({ status: "awaiting_human", rounds: [{ round: 1, consensus: false, tally: { LEFT: 1, RIGHT: 1 } }] });

    const decided = await call(`/v1/councils/${created.id}/decision`, { method: "POST", headers: t.headers, body: JSON.stringify({ option: "RIGHT" }) });
    expect(decided.status).toBe(200);
    expect(await decided.json()).toMatchObject({ status: "decided", decision: { option: "RIGHT", source: "human" } });

    const conflict = await call(`/v1/councils/${created.id}/decision`, { method: "POST", headers: t.headers, body: JSON.stringify({ option: "LEFT" }) });
    expect(conflict.status).toBe(409);
    expect(await conflict.json()).toMatchObject({ error: { type: "invalid_request_error", code: "council_already_decided", param: null } });

    const outcome = await call(`/v1/councils/${created.id}/outcome`, { method: "POST", headers: t.headers, body: JSON.stringify({ option: "RIGHT" }) });
    expect(await outcome.json()).toMatchObject({ outcome: { option: "RIGHT", source: "reported" } });
  });

  it("answers bad input with an OpenAI-shaped 400 and another tenant's council with 404", async () => {
    const t = await newTenant();
    const bad = await call("/v1/councils", { method: "POST", headers: t.headers, body: JSON.stringify({ question: "No assistants?" }) });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { type: "invalid_request_error", param: "assistants" } });

    const res = await call("/v1/councils", { method: "POST", headers: t.headers, body: JSON.stringify({ question: question("Agree?", "YES", "YES"), assistants, options: ["YES", "NO"] }) });
    const { id } = (await res.json()) as { id: string };
    const other = await newTenant();
    const stolen = await call(`/v1/councils/${id}`, { headers: other.headers });
    expect(stolen.status).toBe(404);
    expect(await stolen.json()).toMatchObject({ error: { type: "not_found_error", code: "council_not_found" } });
    await until(`/v1/councils/${id}`, t.headers, (b) => b.status === "consensus");
  });

  it("refuses options of its own with the trading preset, and a weight below 0.001, naming the param", async () => {
    const t = await newTenant();
    const start = (body: Record<string, unknown>) => call("/v1/councils", { method: "POST", headers: t.headers, body: JSON.stringify(body) });
    const trading = await start({ question: "Trade?", preset: "trading", symbol: "BTCUSDT", options: ["YES", "NO"] });
    expect(trading.status).toBe(400);
    expect(await trading.json()).toMatchObject({ error: { type: "invalid_request_error", param: "options", code: "invalid_value", message: expect.stringContaining("the trading preset has its own options") } });
    const tiny = await start({ question: "Tiny?", assistants: [{ ...assistants[0], weight: 0.00001 }] });
    expect(tiny.status).toBe(400);
    expect(await tiny.json()).toMatchObject({ error: { type: "invalid_request_error", param: "assistants[0].weight", message: expect.stringContaining("a weight is at least 0.001") } });
  });

  it("keeps the ids the platform names its own councils with: the trading cron's watch-… and cio/council chats' chat-…", async () => {
    const t = await newTenant();
    for (const id of ["watch-btcusdt-29421", "chat-0d8e4c52-1f7a-4c1e-9a55-3d1f0b6f2a10", "WATCH-ethusdt-1"]) {
      const res = await call("/v1/councils", { method: "POST", headers: t.headers, body: JSON.stringify({ id, question: "Mine?", assistants }) });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error: { type: "invalid_request_error", param: "id", message: expect.stringContaining("platform's own councils") } });
    }
    expect(await (await call("/v1/councils", { headers: t.headers })).json()).toMatchObject({ data: [] });
    const mine = await call("/v1/councils", { method: "POST", headers: t.headers, body: JSON.stringify({ id: "watcher-1", question: withDirective("Mine?", { text: says("YES") }), assistants: [assistants[0]] }) });
    expect(mine.status).toBe(201);
  });

  it("starting councils is admitted by the key's rate limit, like chat requests", async () => {
    const t = await newTenant({}, { rpm_limit: 2 });
    const start = () => call("/v1/councils", { method: "POST", headers: t.headers, body: JSON.stringify({ question: question("Rate?", "A", "A"), assistants, options: ["A", "B"], max_rounds: 1 }) });
    expect([(await start()).status, (await start()).status]).toEqual([201, 201]);
    const third = await start();
    expect(third.status).toBe(429);
    expect(await third.json()).toMatchObject({ error: { type: "rate_limit_error", code: "key_rpm" } });
  });

  it("needs the councils scope", async () => {
    const t = await newTenant({}, { scopes: ["chat"] });
    const res = await call("/v1/councils/anything", { headers: t.headers });
    expect(res.status).toBe(403);
    expect((await call("/v1/councils", { headers: t.headers })).status).toBe(403);
  });

  it("lists the tenant's councils newest first, and those awaiting the human by status", async () => {
    const t = await newTenant();
    const other = await newTenant();
    const start = async (headers: Record<string, string>, q: string, a: string, b: string) => {
      const body = { question: question(q, a, b), assistants, options: ["YES", "LEFT", "RIGHT"], max_rounds: 1 };
      const res = await call("/v1/councils", { method: "POST", headers, body: JSON.stringify(body) });
      expect(res.status).toBe(201);
      const { id } = (await res.json()) as { id: string };
      await until(`/v1/councils/${id}`, headers, (c) => c.status !== "running");
      return id;
    };
    const agreed = await start(t.headers, "Agree?", "YES", "YES");
    const split = await start(t.headers, "Split?", "LEFT", "RIGHT");
    const foreign = await start(other.headers, "Theirs?", "YES", "YES");
    const list = async (query = "", headers = t.headers) => {
      const res = await call(`/v1/councils${query}`, { headers });
      return { status: res.status, body: (await res.json()) as Record<string, any> };
    };

    const all = await list();
    expect(all.status).toBe(200);
    expect(all.body).toMatchObject({ object: "list", has_more: false, first_id: split, last_id: agreed });
    expect(all.body.data).toEqual([
      { id: split, object: "council", status: "awaiting_human", question: expect.stringContaining("Split?"), preset: null, symbol: null, options: ["YES", "LEFT", "RIGHT"], decision: null, outcome: null, session_id: null, created_at: expect.any(Number) },
      expect.objectContaining({ id: agreed, status: "consensus", decision: { option: "YES", source: "consensus", at: expect.any(Number) } }),
    ]);
    expect((await list("?status=awaiting_human")).body.data.map((c: { id: string }) => c.id)).toEqual([split]);
    const page = await list("?limit=1");
    expect([page.body.data.map((c: { id: string }) => c.id), page.body.has_more]).toEqual([[split], true]);
    expect((await list(`?limit=1&after=${split}`)).body.data.map((c: { id: string }) => c.id)).toEqual([agreed]);
    expect((await list("?preset=trading")).body.data).toEqual([]);
    expect((await list("", other.headers)).body.data.map((c: { id: string }) => c.id)).toEqual([foreign]);
    // Another tenant's council is no cursor here; a status that does not exist is named.
    expect((await list(`?after=${foreign}`)).body.error).toMatchObject({ param: "after" });
    expect((await list("?status=pending")).body.error).toMatchObject({ type: "invalid_request_error", param: "status" });

    await call(`/v1/councils/${split}/decision`, { method: "POST", headers: t.headers, body: JSON.stringify({ option: "LEFT" }) });
    expect((await list("?status=awaiting_human")).body.data).toEqual([]);
    expect((await list("?status=decided")).body.data[0]).toMatchObject({ id: split, decision: { option: "LEFT", source: "human" } });
  });
});

describe("/v1/trading", () => {
  it("keeps a per-tenant watch-list and risk limits", async () => {
    const t = await newTenant();
    const watch = await call("/v1/trading/watch-list", { method: "POST", headers: t.headers, body: JSON.stringify({ symbol: "btcusdt", threshold_pct: 2.5 }) });
    expect(await watch.json()).toMatchObject({ symbol: "BTCUSDT", threshold_pct: 2.5, window_minutes: 15, enabled: true });
    const other = await newTenant();
    expect(await (await call("/v1/trading/watch-list", { headers: other.headers })).json()).toEqual({ object: "list", data: [] });
    expect((await (await call("/v1/trading/watch-list", { headers: t.headers })).json()) as object).toMatchObject({ data: [{ symbol: "BTCUSDT" }] });

    expect(await (await call("/v1/trading/risk-limits", { headers: t.headers })).json()).toMatchObject({ source: "default" });
    const limits = { max_position: 5000, max_daily_loss: 200, order_notional: 500 };
    expect((await call("/v1/trading/risk-limits", { method: "PUT", headers: t.headers, body: JSON.stringify(limits) })).status).toBe(200);
    expect(await (await call("/v1/trading/risk-limits", { headers: t.headers })).json()).toEqual({ ...limits, source: "tenant" });
    const bad = await call("/v1/trading/risk-limits", { method: "PUT", headers: t.headers, body: JSON.stringify({ max_position: -1 }) });
    expect(bad.status).toBe(400);

    expect((await call("/v1/trading/watch-list/BTCUSDT", { method: "DELETE", headers: t.headers })).status).toBe(200);
    expect((await call("/v1/trading/watch-list/BTCUSDT", { method: "DELETE", headers: t.headers })).status).toBe(404);
    expect(await (await call("/v1/trading/positions", { headers: t.headers })).json()).toEqual({ object: "paper_book", positions: [], orders: [] });
  });
});
