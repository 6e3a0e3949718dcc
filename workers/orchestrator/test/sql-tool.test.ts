import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { limiterStub, runnerHubName, stubFor } from "../../../lib/do-names.js";
import { queryResultKey, RUNNER_IDENTITY_HEADERS } from "../../../lib/protocol/runner-hub.js";
import type { ChatMessage } from "../../../lib/protocol/index.js";
import type { ToolResult } from "../../../lib/protocol/tool.js";
import { withDirective } from "../../../test/mock-upstream/directive.js";
import { eventually } from "../../../test/support/eventually.js";
import { FakeRunner } from "../../../test/support/fake-runner.js";
import type { OrchestratorEnv } from "../src/env.js";
import { sqlTool } from "../src/tools/sql/index.js";
import { baseEnv, chat, completionOf, keyOf, mockOrigin, newKey, newTenant, OPENAI, scripted } from "./agent/helpers.js";

const withModel = { ...baseEnv, ...OPENAI } as OrchestratorEnv;
const builtin = { ...baseEnv, CIO_PROVIDER: "builtin" } as OrchestratorEnv;

/** A tenant with a runner token row for `name`, and a scripted runner connected straight to its hub. */
async function connected(name = "warehouse", tenantId?: string) {
  const tenant = tenantId ?? (await newTenant());
  const tokenId = `rtk_${crypto.randomUUID()}`;
  await baseEnv.DB.prepare("INSERT INTO runner_tokens (id, tenant_id, runner_name, prefix, hash) VALUES (?, ?, ?, 'rt-cio-x', ?)")
    .bind(tokenId, tenant, name, crypto.randomUUID())
    .run();
  const res = await stubFor(baseEnv.RUNNER_HUBS, runnerHubName(tenant, name)).fetch("https://hub/connect", {
    headers: { upgrade: "websocket", [RUNNER_IDENTITY_HEADERS.tenant]: tenant, [RUNNER_IDENTITY_HEADERS.runner]: name, [RUNNER_IDENTITY_HEADERS.token]: tokenId },
  });
  return { tenant, runner: await FakeRunner.attach(res, name) };
}

const run = (e: OrchestratorEnv, tenantId: string, args: Record<string, unknown>): Promise<ToolResult> =>
  sqlTool.execute(e, { args, tenantId, requestId: crypto.randomUUID(), deadline: Date.now() + 20_000 });

describe("the sql tool", () => {
  it("has the model write SQL from the runner's schema, runs it on the runner, and answers inline", async () => {
    const { tenant, runner } = await connected();
    const id = crypto.randomUUID();
    const question = withDirective("what were yesterday's sales by region?", { id, text: '```json\n{"sql": "SELECT region, sum(amount) AS total FROM sales GROUP BY region"}\n```' });
    const pending = run(withModel, tenant, { question });
    const q = await runner.query();
    expect(q.sql).toBe("SELECT region, sum(amount) AS total FROM sales GROUP BY region");
    runner.answer(q, [[["north", 15], ["south", 7]]]);
    const r = await pending;
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.content).toContain("| north | 15 |");
    expect(r.content).toContain("2 row(s)");
    expect(r.data).toMatchObject({ runner: "warehouse", rowCount: 2, rows: [["north", 15], ["south", 7]] });
    const sent = (await (await fetch(`${mockOrigin()}/__requests?id=${id}`)).json()) as { body: { messages: { role: string; content: string }[] } }[];
    const system = sent[0]!.body.messages[0]!.content;
    expect(system).toContain("PostgreSQL");
    expect(system).toContain("sales(region text, amount numeric)");
    expect(system).toContain("sales_by_region(day)");
  });

  it("summarises a large result and stores all of it in R2 behind a link", async () => {
    const { tenant, runner } = await connected();
    const question = withDirective("all sales", { text: '{"sql": "SELECT region, amount FROM sales"}' });
    const pending = run(withModel, tenant, { question });
    const q = await runner.query();
    const rows = Array.from({ length: 45 }, (_, i) => [`r${i}`, i]);
    runner.answer(q, [rows.slice(0, 30), rows.slice(30)]);
    const r = await pending;
    if (!r.ok) throw new Error(JSON.stringify(r));
    const data = r.data as { resultId: string; resultUrl: string; rows: unknown[] };
    expect(data.rows).toHaveLength(20);
    expect(r.content).toContain(`GET /v1/query-results/${data.resultId}`);
    expect(r.content).toContain("45 row(s)");
    expect(r.content).toContain("total: min 0, max 44, sum 990");
    const stored = await baseEnv.FILES.get(queryResultKey(tenant, data.resultId));
    const lines = (await stored!.text()).trim().split("\n").map((l) => JSON.parse(l) as unknown);
    expect(lines).toHaveLength(47);
    expect(lines[0]).toEqual({ columns: [{ name: "region", type: "text" }, { name: "total", type: "numeric" }] });
    expect(lines[45]).toEqual(["r44", 44]);
    expect(lines[46]).toMatchObject({ done: { rowCount: 45, truncated: false } });
  });

  it("books the tokens of the model call that wrote the query to the tenant, as its chats are", async () => {
    const { tenant, runner } = await connected();
    const usage = { prompt_tokens: 1_000, completion_tokens: 20, total_tokens: 1_020 };
    const pending = run(withModel, tenant, { question: withDirective("sales by region", { text: '{"sql": "SELECT region FROM sales"}', usage }) });
    runner.answer(await runner.query(), [[["north"]]]);
    expect((await pending).ok).toBe(true);
    const tokensToday = () => limiterStub(baseEnv.RATE_LIMITER, tenant).snapshot("k").then((s) => s.tokensToday);
    expect(await eventually(tokensToday, (n) => n !== 0)).toBe(usage.total_tokens);
  });

  it("books our estimate when the upstream's usage of that call is not sane: the limiter would refuse it and nothing be booked", async () => {
    const { tenant, runner } = await connected();
    const usage = { prompt_tokens: "12", completion_tokens: "3", total_tokens: "15" };
    const pending = run(withModel, tenant, { question: withDirective("sales by region", { text: '{"sql": "SELECT region FROM sales"}', usage }) });
    runner.answer(await runner.query(), [[["north"]]]);
    expect((await pending).ok).toBe(true);
    const tokensToday = () => limiterStub(baseEnv.RATE_LIMITER, tenant).snapshot("k").then((s) => s.tokensToday);
    // The prompt holds the runner's schema: the estimate is well over the broken counts' 15.
    expect(await eventually(tokensToday, (n) => n !== 0)).toBeGreaterThan(15);
  });

  it("runs a named query without asking the model", async () => {
    const { tenant, runner } = await connected();
    const pending = run(withModel, tenant, { question: "sales on a day", named: "sales_by_region", params: { day: "2026-12-03" } });
    const q = await runner.query();
    expect(q).toMatchObject({ named: "sales_by_region", params: { day: "2026-12-03" } });
    expect(q.sql).toBeUndefined();
    runner.answer(q, [[["north", 15]]]);
    expect((await pending).ok).toBe(true);
  });

  it("without a model, runs a matching named query or says what it needs", async () => {
    const { tenant, runner } = await connected();
    const pending = run(builtin, tenant, { question: "show the daily totals" });
    const q = await runner.query();
    expect(q.named).toBe("daily_totals");
    runner.answer(q, [[["2026-12-03", 22]]]);
    expect((await pending).ok).toBe(true);
    const r = await run(builtin, tenant, { question: "which customers churned?" });
    expect(r).toMatchObject({ ok: false, error: { code: "no_query", message: expect.stringContaining("no language model") } });
  });

  it("passes the runner's refusal on as a failed tool call", async () => {
    const { tenant, runner } = await connected();
    const pending = run(withModel, tenant, { question: withDirective("drop it", { text: '{"sql": "DELETE FROM sales"}' }) });
    const q = await runner.query();
    runner.send({ type: "error", id: q.id, requestId: q.requestId, code: "policy_denied", message: "only one SELECT statement is allowed" });
    expect(await pending).toMatchObject({ ok: false, error: { code: "policy_denied", retryable: false, message: expect.stringContaining("DELETE FROM sales") } });
  });

  it("a query that ran out of time is not retried: the time was the call's whole budget", async () => {
    const { tenant, runner } = await connected();
    const pending = run(withModel, tenant, { question: withDirective("slow", { text: '{"sql": "SELECT * FROM sales"}' }) });
    const q = await runner.query();
    runner.send({ type: "error", id: q.id, requestId: q.requestId, code: "timeout", message: "canceling statement due to statement timeout" });
    // Retrying would run the same slow query on the customer's database again, for as long again.
    expect(await pending).toMatchObject({ ok: false, error: { code: "timeout", retryable: false } });
  });

  it("fails clearly when the tenant has no runner, or none connected; never reaches another tenant's runner", async () => {
    const { runner } = await connected("shared-name");
    const stranger = await newTenant();
    expect(await run(withModel, stranger, { question: "sales?" })).toMatchObject({ ok: false, error: { code: "runner_offline", message: expect.stringContaining("no runner") } });
    await baseEnv.DB.prepare("INSERT INTO runner_tokens (id, tenant_id, runner_name, prefix, hash) VALUES (?, ?, 'shared-name', 'rt-cio-x', ?)").bind(`rtk_${crypto.randomUUID()}`, stranger, crypto.randomUUID()).run();
    expect(await run(withModel, stranger, { question: "sales?" })).toMatchObject({ ok: false, error: { code: "runner_offline", message: expect.stringContaining("shared-name") } });
    expect(await run(withModel, stranger, { question: "sales?", runner: "shared-name" })).toMatchObject({ ok: false, error: { code: "runner_offline" } });
    expect(runner.received.filter((f) => f.type === "query")).toEqual([]);
  });

  it("rejects bad arguments", async () => {
    const tenant = await newTenant();
    expect(await run(withModel, tenant, {})).toMatchObject({ ok: false, error: { code: "bad_arguments" } });
    expect(await run(withModel, tenant, { question: "x", runner: "Bad Name" })).toMatchObject({ ok: false, error: { code: "bad_arguments" } });
  });
});

describe("the sql tool in a chat", () => {
  it("the agent calls sql, the runner answers, and the reply is built from the rows", async () => {
    const { tenant, runner } = await connected();
    // The mock model echoes a message without a directive ("Echo: …"), so the question the agent passes is
    // the answer the sql tool's own model call gets back (a nested MOCK: directive would hide the outer one).
    const inner = '{"sql": "SELECT region, sum(amount) FROM sales GROUP BY region"}';
    const reply = chat([scripted("what were yesterday's sales by region?", [{ tool_calls: [{ name: "sql", arguments: { question: inner } }] }, { echoTools: true }])], {
      tenantId: tenant,
      settings: OPENAI,
    });
    const q = await runner.query();
    expect(q.sql).toBe("SELECT region, sum(amount) FROM sales GROUP BY region");
    runner.answer(q, [[["north", 15], ["south", 7]]]);
    const c = completionOf(await reply);
    expect(c.choices[0]!.message.content).toContain("| north | 15 |");
    expect(c.cio.tools).toEqual([expect.objectContaining({ name: "sql", ok: true })]);
  });

  it("is not offered to a key without the 'runners' scope, which /v1/runners/:name/query needs", async () => {
    const { tenant, runner } = await connected();
    const chatOnly = await newKey(tenant, ["chat"]);
    const inner = '{"sql": "SELECT region, sum(amount) FROM sales GROUP BY region"}';
    const script = [{ tool_calls: [{ name: "sql", arguments: { question: inner } }] }, { echoTools: true }];
    const c = completionOf(await chat([scripted("yesterday's sales by region?", script)], { tenantId: tenant, keyId: chatOnly, settings: OPENAI }));
    expect(c.cio.tools).toEqual([expect.objectContaining({ name: "sql", ok: false, error: expect.objectContaining({ code: "unknown_tool" }) })]);
    expect(runner.received.filter((f) => f.type === "query")).toEqual([]);
    // The same tenant's key that holds the scope still reaches it.
    const runners = await newKey(tenant, ["chat", "runners"]);
    const reply = chat([scripted("yesterday's sales by region?", script)], { tenantId: tenant, keyId: runners, settings: OPENAI });
    runner.answer(await runner.query(), [[["north", 15]]]);
    expect(completionOf(await reply).cio.tools).toEqual([expect.objectContaining({ name: "sql", ok: true })]);
  });

  it("a turn that ran sql and paused on a client tool is given back only to the key that made it", async () => {
    const { tenant, runner } = await connected();
    const weather = { type: "function", function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } } };
    const inner = '{"sql": "SELECT region, sum(amount) FROM sales GROUP BY region"}';
    // A server that numbers its calls gives every conversation this id, so it is no secret to guess.
    const id = "functions.get_weather:0";
    const ask = scripted("sales by region and the weather", [{ tool_calls: [{ name: "sql", arguments: { question: inner } }, { name: "get_weather", arguments: { city: "Oslo" }, id }] }, { echoTools: true }]);
    const paused = chat([ask], { tenantId: tenant, settings: OPENAI, body: { tools: [weather] } });
    runner.answer(await runner.query(), [[["north", 15], ["south", 7]]]);
    const calls = completionOf(await paused).choices[0]!.message.tool_calls!;
    expect(calls.map((c) => c.id)).toEqual([id]);
    const followUp = async (keyId: string) => {
      const history: ChatMessage[] = [ask, { role: "assistant", content: null, tool_calls: calls }, { role: "tool", tool_call_id: id, content: "3 °C" }];
      return completionOf(await chat(history, { tenantId: tenant, keyId, settings: OPENAI, body: { tools: [weather] } })).choices[0]!.message.content;
    };
    // A key of the same tenant without 'runners' repeating the calls: its model sees only what it was sent.
    expect(await followUp(await newKey(tenant, ["chat"]))).toBe("3 °C");
    // The key that asked still gets its rows back, not run again.
    expect(await followUp(keyOf(tenant))).toMatch(/\| north \| 15 \|.* \| 3 °C$/s);
    expect(runner.received.filter((f) => f.type === "query")).toHaveLength(1);
  });
});
