import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { queryResultKey } from "../../../lib/protocol/runner-hub.js";
import { admin, call, newTenant, type TenantFixture } from "../../../test/support/fixtures";
import { connectRunner, FakeRunner, isWireIdOf, runnerToken } from "../../../test/support/fake-runner";

const post = (t: TenantFixture, path: string, body: unknown) => call(path, { method: "POST", headers: t.headers, body: JSON.stringify(body) });
const query = (t: TenantFixture, name: string, body: Record<string, unknown>) => post(t, `/v1/runners/${name}/query`, body);

async function pool(name = "warehouse") {
  const t = await newTenant();
  const { token, id } = await runnerToken(t.tenantId, name);
  return { t, token, tokenId: id, name };
}

describe("runner connect", () => {
  it("refuses a missing, wrong or revoked token, an API key, and a plain GET", async () => {
    const { t, token, tokenId } = await pool();
    expect((await call("/v1/runners/connect", { headers: { upgrade: "websocket" } })).status).toBe(401);
    const wrong = await connectRunner("rt-cio-not-a-token");
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toMatchObject({ error: { type: "authentication_error", code: "invalid_runner_token" } });
    expect((await connectRunner(t.key)).status).toBe(401);
    const plain = await call("/v1/runners/connect", { headers: { authorization: `Bearer ${token}` } });
    expect(plain.status).toBe(426);
    await admin("DELETE", `/admin/tenants/${t.tenantId}/runner-tokens/${tokenId}`);
    expect((await connectRunner(token)).status).toBe(401);
  });

  it("cannot claim another identity with headers: the hub takes the token's tenant and name", async () => {
    const { t, token } = await pool("alpha");
    const other = await newTenant();
    const res = await connectRunner(token, { "x-cio-tenant-id": other.tenantId, "x-cio-runner-name": "beta" });
    expect(res.status).toBe(101);
    res.webSocket!.accept();
    const list = await (await call("/v1/runners", { headers: other.headers })).json<{ data: unknown[] }>();
    expect(list.data).toEqual([]);
    res.webSocket!.close();
    expect((await call("/v1/runners/alpha", { headers: t.headers })).status).toBe(200);
  });

  it("closes a runner that claims a different name than its token's", async () => {
    const { token } = await pool("alpha");
    await expect(FakeRunner.connect(token, "beta")).rejects.toThrow(/1008 this token is for runner 'alpha'/);
  });

  it("cuts off connected runners when their token is revoked", async () => {
    const { t, token, tokenId, name } = await pool();
    const r = await FakeRunner.connect(token, name);
    await admin("DELETE", `/admin/tenants/${t.tenantId}/runner-tokens/${tokenId}`);
    await expect(r.next(() => false)).rejects.toThrow(/4401 the runner token was revoked/);
    // Its only token gone, the name is no runner of the tenant's any more (as GET /v1/runners/{name} says).
    expect((await query(t, name, { sql: "SELECT 1" })).status).toBe(404);
  });
});

describe("runner query cancel", () => {
  it("is 404 runner_not_found for a name the tenant holds no token for, as every runner route is", async () => {
    const { t } = await pool("sales-db");
    const res = await post(t, "/v1/runners/sales-bd/queries/q1/cancel", {});
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: "runner_not_found" } });
    const known = await post(t, "/v1/runners/sales-db/queries/q1/cancel", {});
    expect(await known.json()).toMatchObject({ error: { code: "query_not_found" } });
  });
});

describe("runner status", () => {
  it("lists the tenant's runners with status, version, database kind and schema; other tenants see nothing", async () => {
    const { t, token, name } = await pool("sales-db");
    await runnerToken(t.tenantId, "idle-db");
    const r = await FakeRunner.connect(token, name, { dbKind: "mysql", version: "9.9.9" });
    const list = await (await call("/v1/runners", { headers: t.headers })).json<{ data: Record<string, unknown>[] }>();
    expect(list.data.map((x) => [x.name, x.status])).toEqual([["idle-db", "offline"], ["sales-db", "connected"]]);
    const one = await (await call(`/v1/runners/${name}`, { headers: t.headers })).json<Record<string, unknown>>();
    expect(one).toMatchObject({ object: "runner", status: "connected", version: "9.9.9", db_kind: "mysql", named_queries: [{ name: "sales_by_region" }, { name: "daily_totals" }] });
    expect((one.tables as { name: string }[])[0]!.name).toBe("sales");
    expect((one.connections as unknown[]).length).toBe(1);
    expect(one.last_seen).toEqual(expect.any(Number));

    const other = await newTenant();
    expect(await (await call("/v1/runners", { headers: other.headers })).json()).toEqual({ object: "list", data: [] });
    expect((await call(`/v1/runners/${name}`, { headers: other.headers })).status).toBe(404);
    r.close();
    await new Promise((res) => setTimeout(res, 100));
    const after = await (await call(`/v1/runners/${name}`, { headers: t.headers })).json<Record<string, unknown>>();
    expect(after).toMatchObject({ status: "offline", version: "9.9.9", connections: [] });
    expect(after.last_seen).toEqual(expect.any(Number));
  });

  it("requires the runners scope", async () => {
    const t = await newTenant({}, { scopes: ["chat"] });
    expect((await call("/v1/runners", { headers: t.headers })).status).toBe(403);
  });
});

describe("queries through the hub", () => {
  it("returns columns, rows, rowCount, truncated and elapsedMs, acknowledging every chunk", async () => {
    const { t, token, name } = await pool();
    const r = await FakeRunner.connect(token, name);
    const pending = query(t, name, { sql: "SELECT region, sum(amount) FROM sales GROUP BY 1", max_rows: 100 });
    const q = await r.query();
    expect(q).toMatchObject({ sql: "SELECT region, sum(amount) FROM sales GROUP BY 1", maxRows: 100, credits: 2 });
    r.answer(q, [[["north", 10], ["south", 20]], [["east", 30]]]);
    const res = await pending;
    expect(res.status).toBe(200);
    const body = await res.json<{ id: string }>();
    expect(isWireIdOf(q.id, body.id)).toBe(true); // the caller's id; the runner saw it with a suffix
    expect(body).toMatchObject({
      object: "query_result", columns: [{ name: "region" }, { name: "total" }],
      rows: [["north", 10], ["south", 20], ["east", 30]], row_count: 3, truncated: false, elapsed_ms: expect.any(Number),
    });
    expect(r.acks(q.id)).toBe(2);
  });

  it("answers at once when no runner is connected", async () => {
    const { t, name } = await pool();
    const started = Date.now();
    const res = await query(t, name, { sql: "SELECT 1" });
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ error: { code: "runner_offline", type: "upstream_error" } });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("answers 404 for a runner name the tenant has no token for, and 409 for a query id already running", async () => {
    const { t, token, name } = await pool();
    const typo = await query(t, `${name}-typo`, { sql: "SELECT 1" });
    expect(typo.status).toBe(404);
    expect(await typo.json()).toMatchObject({ error: { code: "runner_not_found", type: "not_found_error" } });
    const other = await newTenant();
    expect((await query(other, name, { sql: "SELECT 1" })).status).toBe(404); // another tenant's runner name
    const r = await FakeRunner.connect(token, name);
    const first = query(t, name, { sql: "SELECT pg_sleep(60)", id: "same-id" });
    const q = await r.query("same-id");
    const again = await query(t, name, { sql: "SELECT 2", id: "same-id" });
    expect(again.status).toBe(409);
    expect(await again.json()).toMatchObject({ error: { code: "query_in_progress" } });
    r.answer(q, [[["north", 1]]]);
    expect((await first).status).toBe(200);
  });

  it("rejects bad bodies with an OpenAI-shaped 400", async () => {
    const { t, name } = await pool();
    for (const body of [{}, { sql: "SELECT 1", named: "x" }, { sql: "" }, { sql: "SELECT 1", max_rows: -1 }, { sql: "SELECT 1", nope: 1 }]) {
      const res = await query(t, name, body);
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error: { type: "invalid_request_error" } });
    }
  });

  it("passes the runner's typed refusals on", async () => {
    const { t, token, name } = await pool();
    const r = await FakeRunner.connect(token, name);
    const refusals = [
      ["DELETE FROM sales", "policy_denied", "only one SELECT statement is allowed", 403],
      ["SELECT doc FROM docs", "row_too_large", "row 3 is 2000000 bytes as JSON, more than the 1047552 bytes a rows frame may carry", 400],
    ] as const;
    for (const [sql, code, message, status] of refusals) {
      const pending = query(t, name, { sql });
      const q = await r.query();
      r.received.length = 0;
      r.send({ type: "error", id: q.id, requestId: q.requestId, code, message });
      const res = await pending;
      expect(res.status).toBe(status);
      expect(await res.json()).toMatchObject({ error: { code, message } });
    }
  });

  it("truncates at max_rows itself and tells the runner to stop", async () => {
    const { t, token, name } = await pool();
    const r = await FakeRunner.connect(token, name);
    const pending = query(t, name, { sql: "SELECT * FROM big", max_rows: 3 });
    const q = await r.query();
    // A runner that ignores maxRows: the hub still keeps only three rows.
    r.send({ type: "columns", id: q.id, requestId: q.requestId, columns: [{ name: "n", type: "int" }] });
    r.send({ type: "rows", id: q.id, requestId: q.requestId, seq: 0, rows: [[1], [2]] });
    r.send({ type: "rows", id: q.id, requestId: q.requestId, seq: 1, rows: [[3], [4]] });
    const body = await (await pending).json<Record<string, unknown>>();
    expect(body).toMatchObject({ rows: [[1], [2], [3]], row_count: 3, truncated: true, truncated_by: "maxRows" });
    await r.next((f) => f.type === "cancel" && f.id === q.id);
  });

  it("fails a runner that sends more unacknowledged chunks than its credits, or loses one", async () => {
    const { t, token, name } = await pool();
    const r = await FakeRunner.connect(token, name);
    const pending = query(t, name, { sql: "SELECT 1" });
    const q = await r.query();
    r.send({ type: "columns", id: q.id, requestId: q.requestId, columns: [{ name: "n", type: "int" }] });
    r.send({ type: "rows", id: q.id, requestId: q.requestId, seq: 0, rows: [[1]] });
    r.send({ type: "rows", id: q.id, requestId: q.requestId, seq: 2, rows: [[3]] });
    const res = await pending;
    expect(res.status).toBe(502);
    expect(await res.json()).toMatchObject({ error: { code: "protocol_error" } });
  });

  it("fails a query whose runner sends a malformed rows frame", async () => {
    const { t, token, name } = await pool();
    const r = await FakeRunner.connect(token, name);
    const pending = query(t, name, { sql: "SELECT 1" });
    const q = await r.query();
    r.send({ type: "columns", id: q.id, requestId: q.requestId, columns: [{ name: "n", type: "int" }] });
    r.send(`{"type":"rows","id":"${q.id}","requestId":"${q.requestId}","seq":0,"rows":[1,2]}`);
    const res = await pending;
    expect(res.status).toBe(502);
    expect(await res.json()).toMatchObject({ error: { code: "protocol_error", message: expect.stringContaining("invalid frame") } });
  });

  it("fails a query whose binary rows frame breaks the NDJSON framing", async () => {
    const { t, token, name } = await pool();
    const r = await FakeRunner.connect(token, name);
    const enc = new TextEncoder();
    const head = (q: { id: string; requestId: string }, count: number) => `{"type":"rows","id":"${q.id}","requestId":"${q.requestId}","seq":0,"count":${count}}\n`;
    const bad: [(q: { id: string; requestId: string }) => string, string][] = [
      [(q) => `${head(q, 2)}[1]\n`, "the header says 2 rows"],
      [(q) => `${head(q, 1)}[1]`, "does not end with a newline"],
      [(q) => `${head(q, 1)}["a"]["b"\n`, "not a JSON array on one line"],
      [(q) => `${head(q, 1)}{"done":{"rowCount":1}}\n`, "not a JSON array on one line"],
      [(q) => `{"type":"rows","id":"${q.id}"}\n[1]\n`, "invalid frame"],
    ];
    for (const [frame, why] of bad) {
      const pending = query(t, name, { sql: "SELECT 1" });
      const q = await r.query();
      r.received.length = 0;
      r.send({ type: "columns", id: q.id, requestId: q.requestId, columns: [{ name: "n", type: "int" }] });
      r.send(enc.encode(frame(q)));
      const res = await pending;
      expect(res.status, why).toBe(502);
      expect(await res.json(), why).toMatchObject({ error: { code: "protocol_error", message: expect.stringContaining(why) } });
    }
  });

  it("streams a row that would pass for the stream's own done line as an error, never as done", async () => {
    const { t, token, name } = await pool();
    const r = await FakeRunner.connect(token, name);
    const pending = query(t, name, { sql: "SELECT 1", stream: true });
    const q = await r.query();
    r.send({ type: "columns", id: q.id, requestId: q.requestId, columns: [{ name: "n", type: "int" }] });
    r.send(new TextEncoder().encode(`{"type":"rows","id":"${q.id}","requestId":"${q.requestId}","seq":0,"count":1}\n{"done":{"rowCount":0}}\n`));
    const lines = (await (await pending).text()).trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toEqual([{ columns: [{ name: "n", type: "int" }] }, { error: expect.objectContaining({ code: "protocol_error" }) }]);
  });

  it("cuts a streamed chunk at max_rows and max_bytes on a line boundary", async () => {
    const { t, token, name } = await pool();
    const r = await FakeRunner.connect(token, name);
    for (const [limit, kept, by] of [[{ max_rows: 3 }, [[1], [2], [3]], "maxRows"], [{ max_bytes: 13 }, [[10], [20]], "maxBytes"]] as const) {
      const pending = query(t, name, { sql: "SELECT * FROM big", stream: true, ...limit });
      const q = await r.query();
      r.received.length = 0;
      r.send({ type: "columns", id: q.id, requestId: q.requestId, columns: [{ name: "n", type: "int" }] });
      const rows = by === "maxRows" ? [[[1], [2]], [[3], [4]]] : [[[10], [20]], [[30], [40]]]; // "[10]\n" is 5 bytes
      rows.forEach((chunk, seq) => r.send({ type: "rows", id: q.id, requestId: q.requestId, seq, rows: chunk }));
      const lines = (await (await pending).text()).trim().split("\n").map((l) => JSON.parse(l) as unknown);
      expect(lines.slice(1, -1)).toEqual(kept);
      expect(lines.at(-1)).toEqual({ done: expect.objectContaining({ truncated: true, truncatedBy: by }) });
      await r.next((f) => f.type === "cancel" && f.id === q.id);
    }
  });

  it("times out, cancels on the runner, and answers 504", async () => {
    const { t, token, name } = await pool();
    const r = await FakeRunner.connect(token, name);
    const res = await query(t, name, { sql: "SELECT pg_sleep(60)", timeout_ms: 200 });
    expect(res.status).toBe(504);
    expect(await res.json()).toMatchObject({ error: { code: "timeout" } });
    const q = await r.query();
    await r.next((f) => f.type === "cancel" && f.id === q.id);
  });

  it("cancels a running query on request", async () => {
    const { t, token, name } = await pool();
    const r = await FakeRunner.connect(token, name);
    const pending = query(t, name, { sql: "SELECT pg_sleep(60)", id: "my-query-1" });
    const q = await r.query("my-query-1");
    const other = await newTenant();
    expect((await post(other, `/v1/runners/${name}/queries/my-query-1/cancel`, {})).status).toBe(404);
    const cancel = await post(t, `/v1/runners/${name}/queries/my-query-1/cancel`, {});
    expect(cancel.status).toBe(200);
    await r.next((f) => f.type === "cancel" && f.id === q.id);
    const res = await pending;
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ error: { code: "cancelled" } });
    expect((await post(t, `/v1/runners/${name}/queries/my-query-1/cancel`, {})).status).toBe(404);
  });

  it("errors at once when the runner disconnects mid-stream", async () => {
    const { t, token, name } = await pool();
    const r = await FakeRunner.connect(token, name);
    const pending = query(t, name, { sql: "SELECT * FROM big" });
    const q = await r.query();
    r.send({ type: "columns", id: q.id, requestId: q.requestId, columns: [{ name: "n", type: "int" }] });
    r.send({ type: "rows", id: q.id, requestId: q.requestId, seq: 0, rows: [[1]] });
    await r.next((f) => f.type === "ack");
    r.close(1011, "killed");
    const res = await pending;
    expect(res.status).toBe(502);
    expect(await res.json()).toMatchObject({ error: { code: "runner_disconnected" } });
  });

  it("streams NDJSON, acknowledging a chunk only when the reader takes it", async () => {
    const { t, token, name } = await pool();
    const r = await FakeRunner.connect(token, name);
    const pending = query(t, name, { sql: "SELECT * FROM big", stream: true });
    const q = await r.query();
    r.send({ type: "columns", id: q.id, requestId: q.requestId, columns: [{ name: "n", type: "int" }] });
    r.send({ type: "rows", id: q.id, requestId: q.requestId, seq: 0, rows: [[1], [2]] });
    r.send({ type: "rows", id: q.id, requestId: q.requestId, seq: 1, rows: [[3]] });
    const res = await pending;
    expect(res.headers.get("content-type")).toBe("application/x-ndjson");
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!text.includes("[1]")) text += (await reader.read()).value;
    // The reader has taken at most the first chunk: the second is still unacknowledged.
    expect(r.acks(q.id)).toBeLessThanOrEqual(1);
    r.send({ type: "done", id: q.id, requestId: q.requestId, rowCount: 3, truncated: false, elapsedMs: 1 });
    for (let c = await reader.read(); !c.done; c = await reader.read()) text += c.value;
    const lines = text.trim().split("\n").map((l) => JSON.parse(l) as unknown);
    expect(lines).toEqual([{ columns: [{ name: "n", type: "int" }] }, [1], [2], [3], { done: expect.objectContaining({ rowCount: 3, truncated: false }) }]);
    expect(r.acks(q.id)).toBe(2);
  });
});

/** The runner among `runners` that received query `id` first. */
async function whoGot(id: string, runners: FakeRunner[]): Promise<FakeRunner> {
  for (let i = 0; i < 100; i++) {
    const r = runners.find((x) => x.received.some((f) => f.type === "query" && isWireIdOf(f.id, id)));
    if (r) return r;
    await new Promise((res) => setTimeout(res, 20));
  }
  throw new Error(`no runner received ${id}`);
}

describe("runner pools", () => {
  it("spreads concurrent queries over runners of the same name", async () => {
    const { t, token, name } = await pool();
    const a = await FakeRunner.connect(token, name);
    const b = await FakeRunner.connect(token, name);
    const p1 = query(t, name, { sql: "SELECT 1", id: "q-one" });
    const p2 = query(t, name, { sql: "SELECT 2", id: "q-two" });
    const [qa, qb] = await Promise.all([a.query(), b.query()]);
    expect(new Set([qa.id, qb.id].map((id) => id.split(".")[0]))).toEqual(new Set(["q-one", "q-two"]));
    a.answer(qa, [[["a", 1]]]);
    b.answer(qb, [[["b", 2]]]);
    expect((await p1).status).toBe(200);
    expect((await p2).status).toBe(200);
    const status = await (await call(`/v1/runners/${name}`, { headers: t.headers })).json<{ connections: unknown[] }>();
    expect(status.connections).toHaveLength(2);
  });

  it("fails over when a runner is busy or leaves before answering", async () => {
    const { t, token, name } = await pool();
    const a = await FakeRunner.connect(token, name);
    const b = await FakeRunner.connect(token, name);
    const pending = query(t, name, { sql: "SELECT 1", id: "q-failover" });
    const first = await whoGot("q-failover", [a, b]);
    const second = first === a ? b : a;
    const sent = await first.query("q-failover");
    first.send({ type: "error", id: sent.id, requestId: "x", code: "busy", message: "the runner is already running 4 queries" });
    const q = await second.query("q-failover");
    second.close(1011, "crashed before answering");
    const res = await pending;
    // Both runners were tried: the busy one refused, the other left, so the caller learns it at once.
    expect(res.status).toBe(502);
    expect(await res.json()).toMatchObject({ error: { code: "runner_disconnected" } });
    expect(q.id).toBe(sent.id);
    first.close();
    await new Promise((res) => setTimeout(res, 100));

    const c = await FakeRunner.connect(token, name);
    const d = await FakeRunner.connect(token, name);
    const again = query(t, name, { sql: "SELECT 1", id: "q-failover-2" });
    const got = await whoGot("q-failover-2", [c, d]);
    const survivor = got === c ? d : c;
    got.close(1011, "crashed before answering");
    survivor.answer(await survivor.query("q-failover-2"), [[["ok", 1]]]);
    expect(await (await again).json()).toMatchObject({ rows: [["ok", 1]] });
  });
});

describe("stored results", () => {
  it("serves a tenant's stored result as NDJSON, and only to that tenant", async () => {
    const { t } = await pool();
    const files = (env as unknown as { FILES: R2Bucket }).FILES;
    await files.put(queryResultKey(t.tenantId, "sql_abc"), '{"columns":[{"name":"n","type":"int"}]}\n[1]\n');
    const res = await call("/v1/query-results/sql_abc", { headers: t.headers });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/x-ndjson");
    expect(await res.text()).toBe('{"columns":[{"name":"n","type":"int"}]}\n[1]\n');
    const other = await newTenant();
    expect((await call("/v1/query-results/sql_abc", { headers: other.headers })).status).toBe(404);
  });

  it("answers 404 for a result that does not exist (or belongs to another tenant)", async () => {
    const { t } = await pool();
    const res = await call("/v1/query-results/nope", { headers: t.headers });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: "query_result_not_found" } });
  });
});
