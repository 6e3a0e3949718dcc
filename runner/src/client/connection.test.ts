import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { decodeRows, parseRows } from "../../../lib/protocol/runner-rows.ts";
import {
  PING_FRAME, RUNNER_PROTOCOL_VERSION, TENANT_SUSPENDED_CLOSE, TOKEN_REVOKED_CLOSE, type RowsFrame, type RowsHeader, type RunnerFrame, type SchemaTable,
} from "../../../lib/protocol/runner.ts";
import { SqliteDriver } from "../drivers/sqlite.ts";
import type { Driver } from "../drivers/types.ts";
import { createLogger, silentLogger } from "../log.ts";
import { noAudit, Policy, PolicyConfigSchema, type PolicyConfigInput } from "../policy/index.ts";
import { docsDriver } from "../test-support/docs-driver.ts";
import { ScriptedHub } from "../test-support/hub.ts";
import { makeSqliteFile } from "../test-support/sqlite-file.ts";
import { WebSocketServer, type WebSocket } from "ws";
import { connectUrl, RunnerClient, unmaskedIsSafe, type ClientOptions } from "./connection.ts";
import { QueryExecutor } from "./executor.ts";

let path: string;
let hub: ScriptedHub;
let client: RunnerClient | null = null;

beforeAll(() => {
  path = makeSqliteFile(5000);
});
beforeEach(async () => {
  hub = await ScriptedHub.start();
});
afterEach(async () => {
  await client?.stop();
  client = null;
  await hub.close();
});

function start(over: Partial<ClientOptions> = {}, policy: PolicyConfigInput = {}) {
  const driver = new SqliteDriver(path);
  client = new RunnerClient({
    cloudUrl: hub.url,
    token: "test-token",
    runnerName: "warehouse",
    driver,
    policy: new Policy(PolicyConfigSchema.parse(policy), "sqlite", "main"),
    audit: noAudit,
    log: silentLogger(),
    chunkRows: 100,
    frameBytes: 1,
    credits: 8,
    maxConcurrent: 4,
    heartbeatMs: 60_000,
    schemaTimeoutMs: 10_000,
    stopGraceMs: 5000,
    backoff: { initialMs: 50, maxMs: 200 },
    ...over,
  });
  client.start();
  return client;
}

const isType = <T extends RunnerFrame["type"]>(type: T, id?: string) =>
  (f: RunnerFrame): f is Extract<RunnerFrame, { type: T }> => f.type === type && (id === undefined || ("id" in f && f.id === id));

describe("connecting", () => {
  it("builds the connect URL from the cloud URL", () => {
    expect(connectUrl("https://gw.example.com")).toBe("wss://gw.example.com/v1/runners/connect");
    expect(connectUrl("http://127.0.0.1:8787/")).toBe("ws://127.0.0.1:8787/v1/runners/connect");
  });

  it("sends unmasked frames only where no intermediary can read them (TLS or loopback)", () => {
    expect(unmaskedIsSafe(connectUrl("https://gw.example.com"))).toBe(true);
    expect(unmaskedIsSafe(connectUrl("http://127.0.0.1:8787"))).toBe(true);
    expect(unmaskedIsSafe(connectUrl("http://localhost:8787"))).toBe(true);
    expect(unmaskedIsSafe(connectUrl("http://gw.internal:8787"))).toBe(false);
  });

  it("keeps a huge schema's hello within its budget, far under the hub's message limit, saying how many tables it left out", async () => {
    const columns = Array.from({ length: 12 }, (_, i) => ({ name: `column_${i}`, type: "integer", nullable: true }));
    // Thousands of partitions and no allow-list: about 8 MB of schema.
    const tables = Array.from({ length: 20_000 }, (_, i) => ({ schema: "main", name: `events_p${i}`, columns }));
    start({ driver: Object.assign(new SqliteDriver(path), { schema: async () => tables }) });
    const hello = await hub.waitFor(isType("hello"));
    const raw = hub.raw.find((r) => r.includes('"type":"hello"'))!;
    expect(raw.length).toBeLessThan(1024 * 1024);
    expect(hello.schema.tables.length).toBeGreaterThan(100);
    expect(hello.schema.tables.length + (hello.schema.omitted ?? 0)).toBe(20_000);
  });

  it("sends the token and a hello with the allowed schema, never credentials", async () => {
    start({}, { allow: { tables: ["people"] }, maskColumns: ["email"], namedQueries: [{ name: "one", sql: "SELECT 1", params: [] }] });
    const hello = await hub.waitFor(isType("hello"));
    expect(hub.upgrades[0]?.headers.authorization).toBe("Bearer test-token");
    expect(hello).toMatchObject({ runnerName: "warehouse", dbKind: "sqlite", protocol: RUNNER_PROTOCOL_VERSION, namedOnly: false, maxRows: 10000 });
    expect(hello.schema.tables.map((t) => t.name)).toEqual(["people"]);
    expect(hello.schema.tables[0]?.columns.find((c) => c.name === "email")?.masked).toBe(true);
    expect(hello.namedQueries).toEqual([{ name: "one", params: [] }]);
    expect(hub.raw.join("\n")).not.toContain(path);
    expect(hub.raw.join("\n")).not.toContain("test-token");
  });
});

describe("queries under credit flow control", () => {
  it("streams columns, rows and done, never more than K chunks unacknowledged", async () => {
    start({ frameBytes: 2048 });
    await hub.waitFor(isType("hello"));
    const K = 3;
    hub.send({ type: "hello-ack", credits: K });
    let unacked = 0;
    let peak = 0;
    const seqs: number[] = [];
    const ws = hub.socket;
    ws.on("message", (data, isBinary) => {
      if (!isBinary) return;
      const d = decodeRows(new Uint8Array(data as Buffer));
      if (!d.ok) throw new Error(d.error);
      const f = d.chunk.header;
      seqs.push(f.seq);
      peak = Math.max(peak, ++unacked);
      // A slow hub: each chunk is acknowledged a little later (on this test's socket, which may be gone by then).
      setTimeout(() => {
        unacked--;
        if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ type: "ack", id: f.id, credits: 1 }));
      }, 5);
    });
    hub.send({ type: "query", id: "q1", requestId: "req-1", sql: "SELECT id, name FROM people ORDER BY id", maxRows: 100_000, maxBytes: 1e8, timeoutMs: 10_000 });
    const done = await hub.waitFor(isType("done", "q1"));
    expect(done).toMatchObject({ requestId: "req-1", rowCount: 5000, truncated: false });
    // About 100 kB of rows in frames of at most 2 KiB: some fifty chunks, numbered from 0 without a gap.
    expect(seqs.length).toBeGreaterThan(45);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i));
    expect(peak).toBe(K);
    const rows = hub.frames.filter(isType("rows", "q1")).flatMap((f: RowsFrame) => f.rows);
    expect(rows[4999]).toEqual([5000, "person 5000"]);
    expect(hub.frames.filter((f) => "requestId" in f && f.type !== "hello").every((f) => "requestId" in f && f.requestId === "req-1")).toBe(true);
  });

  it("fills rows frames to at most the hub's maxFrameBytes from hello-ack, below its own frameBytes", async () => {
    start({ frameBytes: 512 * 1024 });
    await hub.waitFor(isType("hello"));
    const limit = 16 * 1024;
    hub.send({ type: "hello-ack", credits: 8, maxFrameBytes: limit });
    const sizes: number[] = [];
    const ws = hub.socket;
    ws.on("message", (data, isBinary) => {
      if (!isBinary) return;
      sizes.push((data as Buffer).length);
      const d = decodeRows(new Uint8Array(data as Buffer));
      if (d.ok) ws.send(JSON.stringify({ type: "ack", id: d.chunk.header.id, credits: 1 }));
    });
    hub.send({ type: "query", id: "qf", requestId: "req-f", sql: "SELECT id, name FROM people ORDER BY id", maxRows: 100_000, maxBytes: 1e8, timeoutMs: 10_000 });
    expect(await hub.waitFor(isType("done", "qf"))).toMatchObject({ rowCount: 5000 });
    // About 100 kB of rows: one or two frames at the runner's own 512 KiB, several under the hub's limit.
    expect(sizes.length).toBeGreaterThan(5);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(limit);
  });

  it("a query's own credits override hello-ack, and a silent hub stalls the stream", async () => {
    start();
    await hub.waitFor(isType("hello"));
    hub.send({ type: "query", id: "q2", requestId: "req-2", sql: "SELECT id FROM people", maxRows: 100_000, maxBytes: 1e8, timeoutMs: 10_000, credits: 1 });
    await hub.waitFor(isType("rows", "q2"));
    await new Promise((r) => setTimeout(r, 100));
    expect(hub.frames.filter(isType("rows", "q2"))).toHaveLength(1);
    hub.send({ type: "ack", id: "q2", credits: 1 });
    await hub.waitFor((f) => f.type === "rows" && f.id === "q2" && f.seq === 1);
    hub.send({ type: "cancel", id: "q2", requestId: "req-2" });
    expect(await hub.waitFor(isType("error", "q2"))).toMatchObject({ code: "cancelled", requestId: "req-2" });
  });

  it("times out when the hub stops acknowledging", async () => {
    start();
    await hub.waitFor(isType("hello"));
    hub.send({ type: "query", id: "q3", requestId: "req-3", sql: "SELECT id FROM people", maxRows: 100_000, maxBytes: 1e8, timeoutMs: 300, credits: 2 });
    expect(await hub.waitFor(isType("error", "q3"))).toMatchObject({ code: "timeout" });
    expect(hub.frames.filter(isType("rows", "q3"))).toHaveLength(2);
  });

  it("answers policy refusals and invalid frames with error frames", async () => {
    start();
    await hub.waitFor(isType("hello"));
    hub.send({ type: "query", id: "q4", requestId: "req-4", sql: "DELETE FROM canary", maxRows: 10, maxBytes: 1000, timeoutMs: 1000 });
    expect(await hub.waitFor(isType("error", "q4"))).toMatchObject({ code: "policy_denied", message: expect.stringMatching(/not DELETE/) });
    hub.send(JSON.stringify({ type: "query", id: "q5", requestId: "req-5", sql: "SELECT 1" }));
    expect(await hub.waitFor(isType("error", "q5"))).toMatchObject({ code: "invalid_frame", requestId: "req-5" });
    hub.send("not json");
    expect(await hub.waitFor((f) => f.type === "error" && f.id === null)).toMatchObject({ code: "invalid_frame" });
  });
});

describe("rows frames", () => {
  const FRAME_BYTES = 512 * 1024; // the config's default
  const K = 2;

  /** One query through a QueryExecutor whose hub acks each rows frame on the next turn, as frames arrived. */
  async function stream(bodies: string[], maxBytes = 1e9) {
    const { driver, fetches } = docsDriver(() => bodies);
    const frames: { header: RowsHeader; payload: number; rows: unknown[][] }[] = [];
    const text: RunnerFrame[] = [];
    let unacked = 0;
    let peak = 0;
    const exec: QueryExecutor = new QueryExecutor(
      {
        driver, policy: new Policy(PolicyConfigSchema.parse({}), "sqlite", "main"), audit: noAudit, log: silentLogger(),
        chunkRows: 500, frameBytes: FRAME_BYTES, maxConcurrent: 1, credits: () => K,
      },
      (data) => {
        if (typeof data === "string") return void text.push(JSON.parse(data) as RunnerFrame);
        const d = decodeRows(data);
        if (!d.ok) throw new Error(d.error);
        const parsed = parseRows(d.chunk.body, d.chunk.header.count);
        if (!parsed.ok) throw new Error(parsed.error);
        frames.push({ header: d.chunk.header, payload: d.chunk.body.length, rows: parsed.rows });
        peak = Math.max(peak, ++unacked);
        setImmediate(() => (unacked--, exec.ack({ type: "ack", id: "w", credits: 1 })));
      },
    );
    await exec.run({ type: "query", id: "w", requestId: "req-w", sql: "SELECT id, body FROM docs", maxRows: 1_000_000, maxBytes, timeoutMs: 10_000 });
    return { frames, done: text.find(isType("done")), error: text.find(isType("error")), fetches, peak };
  }

  it("never sends a rows frame over frameBytes: wider rows are split across frames, one wider than a frame goes alone", async () => {
    // 30 kB and 100 kB documents (frames reached 1.4-7.3 MiB at the default 512 KiB, and ~48 MiB, past the
    // hub's 32 MiB message limit, with a large maxBytes), one row wider than a frame, 30 kB of 3-byte
    // characters (10 k UTF-16 units: a frame sized by string length would be three times too big), then narrow rows.
    const bodies = [
      ...Array.from({ length: 40 }, () => "x".repeat(30_000)),
      ...Array.from({ length: 12 }, () => "y".repeat(100_000)),
      "z".repeat(FRAME_BYTES + 100_000),
      ...Array.from({ length: 60 }, () => "€".repeat(10_000)),
      ...Array.from({ length: 3000 }, (_, i) => `narrow ${i}`),
    ];
    const { frames, done, error, peak } = await stream(bodies);
    expect(error).toBeUndefined();
    expect(done).toMatchObject({ rowCount: bodies.length, truncated: false });
    const over = frames.filter((f) => f.payload > FRAME_BYTES);
    expect(over.map((f) => f.header.count)).toEqual([1]); // the one row wider than a frame, alone
    expect(over[0]?.rows[0]?.[1]).toHaveLength(FRAME_BYTES + 100_000);
    // Every row exactly once and in order; one credit per frame, never more than K unacknowledged.
    expect(frames.flatMap((f) => f.rows.map((r) => r[0]))).toEqual(bodies.map((_, i) => i));
    expect(frames.map((f) => f.header.seq)).toEqual(frames.map((_, i) => i));
    expect(frames.every((f) => f.header.count === f.rows.length && f.header.count > 0)).toBe(true);
    expect(peak).toBeLessThanOrEqual(K);
    // Narrow rows are still gathered into full frames, not sent a fetch at a time.
    expect(frames.length).toBeLessThan(40);
  });

  it("sizes each fetch to what is left of the frame, and still stops exactly at maxBytes", async () => {
    const row = "x".repeat(30_000);
    const rowBytes = JSON.stringify([0, row]).length + 1; // ids below 10: one digit
    const bodies = Array.from({ length: 200 }, () => row);
    const all = await stream(bodies);
    expect(all.done).toMatchObject({ rowCount: 200, truncated: false });
    // Fetches of 32, 64, … 500 wide rows (15 MB in memory at once) were cut up only once in hand.
    expect(Math.max(...all.fetches)).toBeLessThanOrEqual(Math.max(16, Math.floor(FRAME_BYTES / rowBytes)));
    expect(all.frames.every((f) => f.payload <= FRAME_BYTES)).toBe(true);

    const capped = await stream(bodies, 1_000_000);
    expect(capped.done).toMatchObject({ truncated: true, truncatedBy: "maxBytes" });
    const sent = capped.frames.reduce((n, f) => n + f.payload, 0);
    expect(sent).toBeLessThanOrEqual(1_000_000);
    expect(sent + rowBytes + 1).toBeGreaterThan(1_000_000); // the next row would not have fitted
    expect(capped.frames.flatMap((f) => f.rows.map((r) => r[0]))).toEqual(Array.from({ length: capped.done!.rowCount }, (_, i) => i));
  });
});

describe("staying connected", () => {
  it("reconnects with exponential backoff after the hub drops, and says hello again", async () => {
    const delays: number[] = [];
    const c = start({ random: () => 1 });
    c.on("reconnect", (_attempt: number, ms: number) => delays.push(ms));
    await hub.waitFor(isType("hello"));
    hub.token = "rotated"; // the next attempts are refused, so the backoff grows
    hub.dropAll();
    await waitUntil(() => delays.length >= 4);
    expect(delays.slice(0, 4)).toEqual([50, 100, 200, 200]);
    hub.token = "test-token";
    await waitUntil(() => hub.frames.filter((f) => f.type === "hello").length === 2, 3000);
    expect(hub.upgrades.filter((u) => !u.accepted).length).toBeGreaterThanOrEqual(3);
  });

  it("backs off to the longest delay when the hub refuses the runner after hello (1008), and logs why", async () => {
    const reason = "this token is for runner 'sales', not 'warehouse'";
    refuseAfterHello(reason);
    const lines: string[] = [];
    const delays: number[] = [];
    const c = start({ random: () => 1, log: createLogger("runner", { sink: (l) => void lines.push(l) }) });
    c.on("reconnect", (_attempt: number, ms: number) => delays.push(ms));
    await waitUntil(() => delays.length >= 3);
    // Each socket opened fine, so a reset on open kept every delay at the first step (50 ms): a reconnect storm.
    expect(delays.slice(0, 3)).toEqual([200, 200, 200]);
    const refused = lines.map((l) => JSON.parse(l) as { level: string; reason?: string; code?: number }).find((l) => l.code === 1008);
    expect(refused).toMatchObject({ level: "error", reason });
  });

  it("says its token was revoked or its tenant suspended, not to check its name or version, when the hub drops it so", async () => {
    const cases = [
      [TOKEN_REVOKED_CLOSE, "the runner token was revoked", /token was revoked.*cloud\.token/],
      [TENANT_SUSPENDED_CLOSE, "the tenant is suspended", /tenant is suspended/],
    ] as const;
    for (const [code, reason, says] of cases) {
      refuseAfterHello(reason, code);
      const lines: string[] = [];
      const delays: number[] = [];
      const c = start({ random: () => 1, log: createLogger("runner", { sink: (l) => void lines.push(l) }) });
      c.on("reconnect", (_attempt: number, ms: number) => delays.push(ms));
      await waitUntil(() => delays.length >= 2);
      // Still retrying, slowly: a tenant may be reactivated, and under systemd an exit would only restart us.
      expect(delays.slice(0, 2)).toEqual([200, 200]);
      const logged = lines.map((l) => JSON.parse(l) as { level: string; msg: string; code?: number }).find((l) => l.code === code);
      expect(logged).toMatchObject({ level: "error", reason, msg: expect.stringMatching(says) });
      expect(logged?.msg).not.toMatch(/runner\.name|cio-runner version/);
      await c.stop();
      await hub.close();
      hub = await ScriptedHub.start();
    }
  });

  it("starts the backoff again from the first step once the hub acknowledged hello", async () => {
    const delays: number[] = [];
    const c = start({ random: () => 1 });
    c.on("reconnect", (_attempt: number, ms: number) => delays.push(ms));
    await hub.waitFor(isType("hello"));
    hub.dropAll();
    await waitUntil(() => hub.sockets.length === 2);
    await waitUntil(() => hub.frames.filter((f) => f.type === "hello").length === 2);
    const acked = new Promise((resolve) => c.once("hello-ack", resolve));
    hub.send({ type: "hello-ack", credits: 8 });
    await acked;
    hub.dropAll();
    await waitUntil(() => delays.length === 2);
    expect(delays).toEqual([50, 50]);
  });

  it("reconnects when the hub drops the socket while the schema for hello is still being read", async () => {
    // The first schema() resolves only after the drop, so the first connection's hello finishes late.
    let release = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const driver = new SqliteDriver(path);
    let schemaCalls = 0;
    const schema = driver.schema.bind(driver);
    driver.schema = async () => {
      if (++schemaCalls === 1) await gate;
      return schema();
    };
    const c = start({ driver, random: () => 1 });
    const closed = new Promise((resolve) => c.once("close", resolve));
    await waitUntil(() => schemaCalls === 1);
    hub.dropAll();
    await closed;
    release();
    await waitUntil(() => hub.sockets.length === 2, 2000);
    await hub.waitFor(isType("hello"));
  });

  it("pings from the moment the socket opens, so a schema read that never ends does not make the hub drop it", async () => {
    let reads = 0;
    const driver = Object.assign(new SqliteDriver(path), { schema: () => (reads++, new Promise<never>(() => {})) });
    start({ driver, heartbeatMs: 1000, schemaTimeoutMs: 60_000 });
    await waitUntil(() => hub.sockets.length === 1);
    // The hub drops a socket silent for three intervals, hello or not: before hello, nothing was sent at all.
    await waitUntil(() => hub.raw.filter((r) => r === PING_FRAME).length >= 2, 3500);
    expect(hub.frames.filter(isType("hello"))).toHaveLength(0);
    expect(reads).toBe(1);
  });

  it("says hello without the schema once schemaTimeoutMs passes, and again with it once it is read", async () => {
    let release = (_t: SchemaTable[]) => {};
    const table: SchemaTable = { schema: "main", name: "late", columns: [{ name: "id", type: "integer", nullable: false }] };
    const driver = Object.assign(new SqliteDriver(path), { schema: () => new Promise<SchemaTable[]>((resolve) => (release = resolve)) });
    start({ driver, schemaTimeoutMs: 200 });
    const first = await hub.waitFor(isType("hello"), 2000);
    expect(first.schema.tables).toEqual([]);
    release([table]);
    await waitUntil(() => hub.frames.filter((f) => f.type === "hello").length === 2);
    const hellos = hub.frames.filter(isType("hello"));
    expect(hellos[1]?.schema.tables).toEqual([table]);
    expect(hellos[1]?.requestId).not.toBe(first.requestId);
    expect(hub.sockets).toHaveLength(1);
  });

  it("never starts a second schema read while one is under way: reconnects share it, and keep the last schema read", async () => {
    const reads: ((t: SchemaTable[]) => void)[] = [];
    const table: SchemaTable = { schema: "main", name: "people", columns: [{ name: "id", type: "integer", nullable: false }] };
    const driver = Object.assign(new SqliteDriver(path), { schema: () => new Promise<SchemaTable[]>((resolve) => void reads.push(resolve)) });
    const c = start({ driver, schemaTimeoutMs: 100 });
    let connects = 0;
    c.on("open", () => connects++);
    // Two drops while the first read is still under way (as the hub's heartbeat sweep did): one read in all.
    for (const n of [1, 2]) {
      await waitUntil(() => hub.frames.filter((f) => f.type === "hello").length === n);
      hub.dropAll();
    }
    await waitUntil(() => hub.frames.filter((f) => f.type === "hello").length === 3);
    expect(hub.sockets).toHaveLength(3);
    expect(reads).toHaveLength(1);
    reads[0]!([table]);
    // The read ends: the live connection says hello with it; the dropped ones say nothing more.
    await waitUntil(() => hub.frames.filter((f) => f.type === "hello").length === 4);
    expect(hub.frames.filter(isType("hello")).map((h) => h.schema.tables.length)).toEqual([0, 0, 0, 1]);
    // The next connection reads again, and says the last schema read while that read is slow.
    hub.dropAll();
    await waitUntil(() => hub.frames.filter((f) => f.type === "hello").length === 5);
    expect(reads).toHaveLength(2);
    expect(hub.frames.filter(isType("hello")).at(-1)?.schema.tables).toEqual([table]);
    expect(connects).toBe(4);
  });

  /** A driver whose one query runs until cancelled, then takes until `gate` to end (the database stopping it). */
  function slowToCancel(gate: Promise<void>) {
    const closing = { called: false };
    const driver: Driver = {
      kind: "sqlite",
      defaultSchema: "main",
      open: async (_sql, _params, opts) => ({
        columns: [{ name: "x", type: "integer" }],
        next: () => new Promise((_resolve, reject) => opts.signal.addEventListener("abort", () => reject(opts.signal.reason as Error))),
        close: async () => {
          closing.called = true;
          await gate;
        },
      }),
      schema: async () => [],
      ping: async () => {},
      close: async () => {},
    };
    return { driver, closing };
  }

  async function stopWithQueryRunning(c: RunnerClient) {
    await hub.waitFor(isType("hello"));
    hub.send({ type: "query", id: "s1", requestId: "req-s1", sql: "SELECT x FROM t", maxRows: 10, maxBytes: 1000, timeoutMs: 60_000 });
    await hub.waitFor(isType("columns", "s1"));
    const state = { stopped: false, at: 0 };
    const started = Date.now();
    const stopping = c.stop().then(() => Object.assign(state, { stopped: true, at: Date.now() - started }));
    return { state, stopping };
  }

  it("stop() resolves only once the queries it cancelled have ended, so the driver is closed after their cancel", async () => {
    let release = () => {};
    const { driver, closing } = slowToCancel(new Promise<void>((resolve) => (release = resolve)));
    const { state, stopping } = await stopWithQueryRunning(start({ driver }));
    await waitUntil(() => closing.called && hub.closes.length === 1);
    await new Promise((r) => setTimeout(r, 100)); // the socket is closed: stop() used to resolve here
    expect(state.stopped).toBe(false);
    release();
    await stopping;
    expect(state.stopped).toBe(true);
  });

  it("stop() waits no longer than stopGraceMs for a query that does not end", async () => {
    const { driver, closing } = slowToCancel(new Promise<void>(() => {}));
    const { state, stopping } = await stopWithQueryRunning(start({ driver, stopGraceMs: 300 }));
    await stopping;
    expect(closing.called).toBe(true);
    expect(state.at).toBeGreaterThanOrEqual(290);
    expect(state.at).toBeLessThan(2000);
  });

  it("uses full jitter: delays are spread over [0, ceiling]", async () => {
    const { backoffDelay } = await import("./backoff.ts");
    const opts = { initialMs: 100, maxMs: 1000 };
    expect(backoffDelay(0, opts, () => 0.5)).toBe(50);
    expect(backoffDelay(3, opts, () => 0.999)).toBe(799);
    expect(backoffDelay(20, opts, () => 1)).toBe(1000);
    const samples = Array.from({ length: 200 }, () => backoffDelay(5, opts));
    expect(Math.min(...samples)).toBeLessThan(300);
    expect(Math.max(...samples)).toBeGreaterThan(700);
  });

  it("pings with the exact heartbeat frame and drops a silent hub", async () => {
    const c = start({ heartbeatMs: 50 });
    let reconnects = 0;
    c.on("reconnect", () => reconnects++);
    await hub.waitFor(isType("hello"));
    await waitUntil(() => hub.raw.includes(PING_FRAME));
    await waitUntil(() => reconnects > 0, 2000);
  });
});

/** Makes the hub close every runner socket on its first frame: 1008 as RunnerHubDO does for a wrong name. */
function refuseAfterHello(reason: string, code = 1008) {
  const push = hub.sockets.push.bind(hub.sockets);
  hub.sockets.push = (...sockets: WebSocket[]) => {
    for (const ws of sockets) ws.once("message", () => ws.close(code, reason));
    return push(...sockets);
  };
}

async function waitUntil(check: () => boolean, timeoutMs = 5000) {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error("condition not reached in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("compression", () => {
  /** Connects to a hub that would accept permessage-deflate and returns what the runner offered. */
  async function offered(compress: boolean | undefined): Promise<string | undefined> {
    const wss = new WebSocketServer({ port: 0, host: "127.0.0.1", perMessageDeflate: true });
    await new Promise((r) => wss.once("listening", r));
    const got = new Promise<string | undefined>((resolve) => wss.once("connection", (_ws, req) => resolve(req.headers["sec-websocket-extensions"])));
    const { port } = wss.address() as { port: number };
    const c = new RunnerClient({
      cloudUrl: `http://127.0.0.1:${port}`, token: "t", runnerName: "warehouse", driver: new SqliteDriver(path),
      policy: new Policy(PolicyConfigSchema.parse({}), "sqlite", "main"), audit: noAudit, log: silentLogger(),
      chunkRows: 100, frameBytes: 1, credits: 8, maxConcurrent: 4, heartbeatMs: 60_000, schemaTimeoutMs: 10_000, stopGraceMs: 5000, backoff: { initialMs: 50, maxMs: 200 }, compress,
    });
    c.start();
    try {
      return await got;
    } finally {
      await c.stop();
      wss.close();
    }
  }

  it("is off unless configured, and offered when connection.compress is true", async () => {
    expect(await offered(undefined)).toBeUndefined();
    expect(await offered(false)).toBeUndefined();
    expect(await offered(true)).toContain("permessage-deflate");
  });
});
