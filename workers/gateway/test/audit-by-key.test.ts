/** A tenant's own deletions and council decisions are in the audit log, with the key that made them. */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { openDb, schema } from "../../../lib/db/index.js";
import { withDirective } from "../../../test/mock-upstream/directive.js";
import { ADMIN, admin, call, newTenant, type TenantFixture } from "../../../test/support/fixtures.js";
import { uploaded } from "../../../test/support/heavy.js";
import { eventually } from "../../../test/support/eventually.js";

type Entry = { actor: string; action: string; target: string; detail: Record<string, unknown>; request_id: string };
const audit = async (t: TenantFixture, action: string) =>
  ((await (await call(`/admin/audit?tenant_id=${t.tenantId}&action=${action}`, { headers: ADMIN })).json()) as { data: Entry[] }).data;
const send = (t: TenantFixture, method: string, path: string, body?: unknown) =>
  call(path, { method, headers: t.headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });

/** A council of two that disagree, escalated to the human: its id. */
async function escalated(t: TenantFixture, q: string): Promise<string> {
  const says = (option: string) => JSON.stringify({ option, confidence: 0.9, reasoning: `${option} it is.` });
  const question = withDirective(q, { cases: [{ when: ["You are alpha."], text: says("LEFT") }, { when: ["You are beta."], text: says("RIGHT") }] });
  const assistants = [
    { id: "alpha", persona: "You are alpha.", model: "mock-model" },
    { id: "beta", persona: "You are beta.", model: "mock-model" },
  ];
  const { id } = (await (await send(t, "POST", "/v1/councils", { question, assistants, options: ["LEFT", "RIGHT"], max_rounds: 1 })).json()) as { id: string };
  const settled = await eventually(async () => (await (await send(t, "GET", `/v1/councils/${id}`)).json()) as { status: string }, (c) => c.status !== "running", 10_000);
  expect(settled.status).toBe("awaiting_human");
  return id;
}

describe("the audit log of calls made with an API key", () => {
  it("records a deleted file, task and session, with the key as the actor and the call's request id", async () => {
    const t = await newTenant();
    const file = await uploaded(t.headers, "w.csv", "a\n1\n");
    const fileRes = await send(t, "DELETE", `/v1/files/${file.id}`);
    expect(fileRes.status).toBe(200);
    expect(await audit(t, "file.delete")).toEqual([
      expect.objectContaining({ actor: `key:${t.keyId}`, target: file.id, detail: { filename: "w.csv", purpose: "analysis", bytes: 4 }, request_id: fileRes.headers.get("x-request-id") }),
    ]);

    const taskId = `task_${crypto.randomUUID().replace(/-/g, "")}`;
    await openDb((env as unknown as { DB: D1Database }).DB).insert(schema.tasks).values({ id: taskId, tenantId: t.tenantId, type: "chat_completion", status: "failed", params: {} });
    expect((await send(t, "DELETE", `/v1/tasks/${taskId}`)).status).toBe(200);
    expect(await audit(t, "task.delete")).toEqual([expect.objectContaining({ actor: `key:${t.keyId}`, target: taskId, detail: { type: "chat_completion", status: "failed" } })]);

    const session = (await (await send(t, "POST", "/v1/sessions", {})).json()) as { id: string };
    expect((await send(t, "DELETE", `/v1/sessions/${session.id}`)).status).toBe(200);
    expect(await audit(t, "session.delete")).toEqual([expect.objectContaining({ actor: `key:${t.keyId}`, target: session.id })]);
  });

  it("records nothing for a refused deletion: another tenant's file, a running task", async () => {
    const t = await newTenant();
    const other = await newTenant();
    const file = await uploaded(other.headers, "w.csv", "a\n1\n");
    expect((await send(t, "DELETE", `/v1/files/${file.id}`)).status).toBe(404);
    const taskId = `task_${crypto.randomUUID().replace(/-/g, "")}`;
    await openDb((env as unknown as { DB: D1Database }).DB).insert(schema.tasks).values({ id: taskId, tenantId: t.tenantId, type: "chat_completion", status: "running", params: {} });
    expect((await send(t, "DELETE", `/v1/tasks/${taskId}`)).status).toBe(409);
    expect([...(await audit(t, "file.")), ...(await audit(t, "task.")), ...(await audit(other, "file."))]).toEqual([]);
  });

  it("records the human's decision on an escalated council: the option, the note and the key", async () => {
    const t = await newTenant();
    const id = await escalated(t, "Which way?");
    expect((await send(t, "POST", `/v1/councils/${id}/decision`, { option: "RIGHT", note: "beta's case" })).status).toBe(200);
    expect(await audit(t, "council.decision")).toEqual([expect.objectContaining({ actor: `key:${t.keyId}`, target: id, detail: { option: "RIGHT", note: "beta's case" } })]);
    // A decision refused (already decided) records nothing more.
    expect((await send(t, "POST", `/v1/councils/${id}/decision`, { option: "LEFT" })).status).toBe(409);
    expect(await audit(t, "council.")).toHaveLength(1);
    // The outcome moves the assistants' weights for every later council: who reported it is recorded too.
    expect((await send(t, "POST", `/v1/councils/${id}/outcome`, { option: "RIGHT" })).status).toBe(200);
    expect(await audit(t, "council.outcome")).toEqual([expect.objectContaining({ actor: `key:${t.keyId}`, target: id, detail: { option: "RIGHT" } })]);
  });

  it("records a decision and an outcome once, as the council spells them: a repeat by another key is not its act", async () => {
    const t = await newTenant();
    const second = await admin<{ key: string }>("POST", `/admin/tenants/${t.tenantId}/keys`, { name: "second" });
    const other = { ...t, headers: { ...t.headers, authorization: `Bearer ${second.key}` } };
    const id = await escalated(t, "Which way, twice?");
    expect((await send(t, "POST", `/v1/councils/${id}/decision`, { option: "right", note: "approved by A" })).status).toBe(200);
    // The council answers the same decision again, changing nothing: the note it discards is nobody's decision.
    const again = await send(other, "POST", `/v1/councils/${id}/decision`, { option: "Right", note: "B's own reason" });
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ decision: { option: "RIGHT", note: "approved by A" } });
    expect(await audit(t, "council.decision")).toEqual([expect.objectContaining({ actor: `key:${t.keyId}`, detail: { option: "RIGHT", note: "approved by A" } })]);
    expect((await send(t, "POST", `/v1/councils/${id}/outcome`, { option: "right" })).status).toBe(200);
    expect((await send(other, "POST", `/v1/councils/${id}/outcome`, { option: "RIGHT" })).status).toBe(200);
    expect(await audit(t, "council.outcome")).toEqual([expect.objectContaining({ actor: `key:${t.keyId}`, detail: { option: "RIGHT" } })]);
  });

  it("records changes to what trading councils may do: the watch-list and the risk limits, not a refused one", async () => {
    const t = await newTenant();
    expect((await send(t, "POST", "/v1/trading/watch-list", { symbol: "ethusdt", threshold_pct: 4 })).status).toBe(200);
    const limits = { max_position: 5000, max_daily_loss: 200, order_notional: 500 };
    expect((await send(t, "PUT", "/v1/trading/risk-limits", limits)).status).toBe(200);
    expect((await send(t, "PUT", "/v1/trading/risk-limits", { max_position: -1 })).status).toBe(400);
    expect((await send(t, "DELETE", "/v1/trading/watch-list/ETHUSDT")).status).toBe(200);
    expect((await send(t, "DELETE", "/v1/trading/watch-list/ETHUSDT")).status).toBe(404);
    const entries = await audit(t, "trading.");
    expect(entries.map((e) => [e.action, e.target, e.actor])).toEqual([
      ["trading.unwatch", "ETHUSDT", `key:${t.keyId}`],
      ["trading.risk_limits", t.tenantId, `key:${t.keyId}`],
      ["trading.watch", "ETHUSDT", `key:${t.keyId}`],
    ]);
    expect(entries[1]!.detail).toEqual(limits);
  });
});
