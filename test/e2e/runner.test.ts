/**
 * The runner end to end: the real `cio-runner` process, real PostgreSQL and MariaDB, and the whole local
 * stack (gateway → RunnerHubDO → WebSocket → runner → database). Every runner started here is stopped in
 * afterEach/afterAll; the databases are this file's own.
 */
import mysql from "mysql2/promise";
import pg from "pg";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { MYSQL_URL, PG_URL, unavailable } from "../../runner/src/test-support/databases.ts";
import { startRunner, type RunnerOptions, type RunnerProcess } from "../support/runner-process.ts";

const DB = "cio_runner_e2e";
const url = inject("stackUrl");
const adminToken = inject("stackAdmin");
const withDb = (u: string, db: string) => Object.assign(new URL(u), { pathname: `/${db}` }).toString();

async function api<T = Record<string, unknown>>(method: string, path: string, token: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(`${url}${path}`, { method, headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: (text.startsWith("{") ? JSON.parse(text) : text) as T };
}

const pgReady = await (async () => {
  const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
    if (!(await c.query("SELECT 1 FROM pg_database WHERE datname = $1", [DB])).rowCount) await c.query(`CREATE DATABASE ${DB}`);
    return null;
  } catch (err) {
    return String(err);
  } finally {
    await c.end().catch(() => {});
  }
})();
const skipPg = unavailable("PostgreSQL", pgReady);
const pgUrl = withDb(PG_URL, DB);

let tenantKey = "";
let tenantId = "";
const runners: RunnerProcess[] = [];

async function token(name: string) {
  return (await api<{ token: string; id: string }>("POST", `/admin/tenants/${tenantId}/runner-tokens`, adminToken, { runner_name: name })).body;
}

async function runner(name: string, db: RunnerOptions["db"], extra: Partial<RunnerOptions> = {}, connections = 1) {
  const t = extra.token ?? (await token(name)).token;
  const r = startRunner({ cloudUrl: url, token: t, name, db, ...extra });
  runners.push(r);
  await waitFor(async () => {
    const s = await api<{ status: string; connections: unknown[] }>("GET", `/v1/runners/${name}`, tenantKey);
    return s.body.status === "connected" && s.body.connections.length >= connections;
  }, () => r.output());
  return r;
}

async function waitFor(check: () => Promise<boolean>, explain: () => string = () => "", timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met in ${timeoutMs} ms\n${explain().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  const t = await api<{ id: string }>("POST", "/admin/tenants", adminToken, { name: "runner-e2e" });
  tenantId = t.body.id;
  tenantKey = (await api<{ key: string }>("POST", `/admin/tenants/${tenantId}/keys`, adminToken, { name: "e2e" })).body.key;
});
afterEach(async () => {
  await Promise.all(runners.splice(0).map((r) => r.stop("SIGKILL")));
});

describe.skipIf(skipPg)("runner with PostgreSQL through the stack", () => {
  let admin: pg.Client;
  const running = async (like: string) =>
    (await admin.query("SELECT pid FROM pg_stat_activity WHERE state = 'active' AND query LIKE $1 AND pid <> pg_backend_pid()", [like])).rowCount ?? 0;

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: pgUrl });
    await admin.connect();
    await admin.query(`
      DROP TABLE IF EXISTS sales, customers;
      CREATE TABLE sales (id serial PRIMARY KEY, region text NOT NULL, amount int NOT NULL, day date NOT NULL);
      INSERT INTO sales (region, amount, day) VALUES ('north', 10, '2026-12-03'), ('north', 5, '2026-12-03'), ('south', 7, '2026-12-03'), ('south', 100, '2026-12-02');
      CREATE TABLE customers (id int PRIMARY KEY, name text, email text);
      INSERT INTO customers VALUES (1, 'Ada', 'ada@example.com');`);
  });
  afterAll(async () => {
    await admin?.end();
  });

  const policy = `  maskColumns: [customers.email]
  namedQueries:
    - name: sales_by_region
      description: Sales per region for one day
      sql: SELECT region, sum(amount)::int AS total FROM sales WHERE day = $1 GROUP BY region ORDER BY region
      params: [day]`;

  it("answers ad-hoc and named queries from the real database, masks columns, reports its schema", async () => {
    const r = await runner("pg-main", { kind: "postgres", url: pgUrl }, { policyYaml: policy });
    const status = await api<{ db_kind: string; tables: { name: string; columns: { name: string; masked?: boolean }[] }[] }>("GET", "/v1/runners/pg-main", tenantKey);
    expect(status.body.db_kind).toBe("postgres");
    const customers = status.body.tables.find((t) => t.name === "customers")!;
    expect(customers.columns.find((c) => c.name === "email")?.masked).toBe(true);

    const adhoc = await api("POST", "/v1/runners/pg-main/query", tenantKey, { sql: "SELECT region, sum(amount)::int AS total FROM sales GROUP BY region ORDER BY region" });
    expect(adhoc.status).toBe(200);
    expect(adhoc.body).toMatchObject({ rows: [["north", 15], ["south", 107]], row_count: 2, truncated: false });
    const named = await api("POST", "/v1/runners/pg-main/query", tenantKey, { named: "sales_by_region", params: { day: "2026-12-03" } });
    expect(named.body).toMatchObject({ rows: [["north", 15], ["south", 7]] });
    const masked = await api("POST", "/v1/runners/pg-main/query", tenantKey, { sql: "SELECT name, email FROM customers" });
    expect(masked.body).toMatchObject({ rows: [["Ada", "****"]] });
    // PostgreSQL answers c.to_jsonb as to_jsonb(c), the whole row with the masked email: refused before it runs.
    const whole = await api("POST", "/v1/runners/pg-main/query", tenantKey, { sql: "SELECT c.to_jsonb FROM customers c" });
    expect(whole.body).toMatchObject({ error: { code: "policy_denied", message: expect.stringContaining("whole row") } });

    const refused = await api("POST", "/v1/runners/pg-main/query", tenantKey, { sql: "DELETE FROM sales" });
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ error: { code: "policy_denied" } });
    expect((await admin.query("SELECT count(*)::int AS n FROM sales")).rows[0].n).toBe(4);
    const audit = readFileSync(join(r.dir, "audit.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { event: string; named?: string | null; params?: unknown });
    expect(audit.map((a) => a.event)).toEqual(expect.arrayContaining(["request", "done", "refused"]));
    // A named query's values are what it did: they are in its audit line.
    expect(audit.find((a) => a.event === "request" && a.named === "sales_by_region")).toMatchObject({ params: { day: "2026-12-03" } });
  });

  it("cancel reaches the database: pg_cancel_backend stops the statement", async () => {
    await runner("pg-cancel", { kind: "postgres", url: pgUrl });
    const pending = api("POST", "/v1/runners/pg-cancel/query", tenantKey, { sql: "SELECT pg_sleep(20.5)", id: "e2e-cancel" });
    await waitFor(async () => (await running("SELECT pg_sleep(20.5)%")) === 1);
    expect((await api("POST", "/v1/runners/pg-cancel/queries/e2e-cancel/cancel", tenantKey, {})).status).toBe(200);
    const res = await pending;
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ error: { code: "cancelled" } });
    await waitFor(async () => (await running("SELECT pg_sleep(20.5)%")) === 0, () => "the statement still runs", 5000);
  });

  it("a statement past its timeout is cancelled and the caller gets a timeout", async () => {
    await runner("pg-timeout", { kind: "postgres", url: pgUrl });
    const res = await api("POST", "/v1/runners/pg-timeout/query", tenantKey, { sql: "SELECT pg_sleep(20.25)", timeout_ms: 800 });
    expect(res.status).toBe(504);
    expect(res.body).toMatchObject({ error: { code: "timeout" } });
    await waitFor(async () => (await running("SELECT pg_sleep(20.25)%")) === 0, () => "the statement still runs", 5000);
  });

  it("database down: a clear error, and the runner stays connected", async () => {
    await runner("pg-down", { kind: "postgres", url: "postgres://postgres@127.0.0.1:1/nothing" });
    const res = await api<{ error: { code: string; message: string } }>("POST", "/v1/runners/pg-down/query", tenantKey, { sql: "SELECT 1" });
    expect(res.status).toBe(502);
    expect(res.body.error.code).toBe("db_unavailable");
    expect(res.body.error.message).toMatch(/database/i);
    expect((await api("GET", "/v1/runners/pg-down", tenantKey)).body).toMatchObject({ status: "connected" });
  });

  it("runner killed mid-stream: the stream ends with an error at once, then the runner is offline", async () => {
    const r = await runner("pg-kill", { kind: "postgres", url: pgUrl }, { policyYaml: "  maxRows: 5000000" });
    const res = await fetch(`${url}/v1/runners/pg-kill/query`, {
      method: "POST",
      headers: { authorization: `Bearer ${tenantKey}`, "content-type": "application/json" },
      body: JSON.stringify({ sql: "SELECT g, repeat('x', 200) AS pad FROM generate_series(1, 3000000) g", stream: true, timeout_ms: 25_000 }),
    });
    expect(res.status).toBe(200);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (text.split("\n").length < 1000) text += (await reader.read()).value ?? "";
    const killedAt = Date.now();
    await r.stop("SIGKILL");
    for (let c = await reader.read(); !c.done; c = await reader.read()) text += c.value;
    const last = JSON.parse(text.trim().split("\n").at(-1)!) as { error?: { code: string } };
    expect(last.error?.code).toBe("runner_disconnected");
    expect(Date.now() - killedAt).toBeLessThan(10_000);
    const offline = await api("POST", "/v1/runners/pg-kill/query", tenantKey, { sql: "SELECT 1" });
    expect(offline.status).toBe(503);
    expect(offline.body).toMatchObject({ error: { code: "runner_offline" } });
  });

  it("a pool of two runners keeps answering when one is killed", async () => {
    const { token: t } = await token("pg-pool");
    await runner("pg-pool", { kind: "postgres", url: pgUrl }, { token: t });
    const second = await runner("pg-pool", { kind: "postgres", url: pgUrl }, { token: t }, 2);
    await second.stop("SIGKILL");
    for (let i = 0; i < 4; i++) {
      const res = await api("POST", "/v1/runners/pg-pool/query", tenantKey, { sql: "SELECT count(*)::int AS n FROM sales" });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ rows: [[4]] });
    }
  });

  it("a revoked token cuts the runner off and it cannot reconnect", async () => {
    const { token: t, id } = await token("pg-revoke");
    const r = await runner("pg-revoke", { kind: "postgres", url: pgUrl }, { token: t });
    await api("DELETE", `/admin/tenants/${tenantId}/runner-tokens/${id}`, adminToken);
    await waitFor(async () => r.output().includes("the runner token was refused"), () => r.output(), 10_000);
    // Its only token revoked, the name is no runner of the tenant's any more.
    const res = await api("POST", "/v1/runners/pg-revoke/query", tenantKey, { sql: "SELECT 1" });
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ error: { code: "runner_not_found" } });
  });
});

const mysqlReady = await (async () => {
  try {
    const c = await mysql.createConnection({ uri: withDb(MYSQL_URL, ""), connectTimeout: 3000 });
    await c.query(`CREATE DATABASE IF NOT EXISTS ${DB}`);
    await c.end();
    return null;
  } catch (err) {
    return String(err);
  }
})();

describe.skipIf(unavailable("MariaDB", mysqlReady))("runner with MariaDB through the stack", () => {
  it("answers, and cancel runs KILL QUERY on the server", async () => {
    const dbUrl = withDb(MYSQL_URL, DB);
    const admin = await mysql.createConnection({ uri: dbUrl });
    try {
      await admin.query("DROP TABLE IF EXISTS orders");
      await admin.query("CREATE TABLE orders (id int PRIMARY KEY, region varchar(20))");
      await admin.query("INSERT INTO orders VALUES (1, 'west'), (2, 'east')");
      await runner("maria", { kind: "mariadb", url: dbUrl });
      const ok = await api("POST", "/v1/runners/maria/query", tenantKey, { sql: "SELECT id, region FROM orders ORDER BY id" });
      expect(ok.body).toMatchObject({ rows: [[1, "west"], [2, "east"]] });

      // SLEEP() is on the runner's deny list, so the long statement is real work: a 10^12-row cross join.
      const slow = "SELECT count(*) FROM seq_1_to_1000000 a, seq_1_to_1000000 b";
      const sleeping = async () => ((await admin.query("SELECT id FROM information_schema.processlist WHERE info = ?", [slow])) as [unknown[], unknown])[0].length;
      const pending = api("POST", "/v1/runners/maria/query", tenantKey, { sql: slow, id: "e2e-maria-cancel" });
      await waitFor(async () => (await sleeping()) === 1);
      expect((await api("POST", "/v1/runners/maria/queries/e2e-maria-cancel/cancel", tenantKey, {})).status).toBe(200);
      expect((await pending).status).toBe(409);
      await waitFor(async () => (await sleeping()) === 0, () => "the statement still runs", 5000);
    } finally {
      await admin.end();
    }
  });
});
