import { describe, expect, it } from "vitest";
import { HubSettingsSchema } from "../../../durable-objects/runner-hub/settings.js";
import { runnerHubName, stubFor } from "../../../lib/do-names.js";
import { RUNNER_IDENTITY_HEADERS, type HubQueryResult } from "../../../lib/protocol/runner-hub.js";
import { encodeRowsFrame } from "../../../lib/protocol/runner-rows.js";
import { PING_FRAME, PONG_FRAME, QUERY_ID_MAX, QueryFrameSchema, type HubToRunnerFrame, type QueryFrame } from "../../../lib/protocol/runner.js";
import { FakeRunner, helloFrame } from "../../../test/support/fake-runner.js";
import { baseEnv, newTenant } from "./agent/helpers.js";

const MiB = 1024 * 1024;

/** A fresh tenant's hub and a runner socket upgraded on it (as the gateway would let it in), before hello. */
async function upgraded(name: string) {
  const tenant = await newTenant();
  const hub = stubFor(baseEnv.RUNNER_HUBS, runnerHubName(tenant, name));
  const res = await hub.fetch("https://hub/connect", {
    headers: { upgrade: "websocket", [RUNNER_IDENTITY_HEADERS.tenant]: tenant, [RUNNER_IDENTITY_HEADERS.runner]: name, [RUNNER_IDENTITY_HEADERS.token]: `rtk_${crypto.randomUUID()}` },
  });
  return { hub, res };
}

/** A runner connected straight to a fresh tenant's hub, hello acknowledged. */
async function connected(name = "warehouse") {
  const { hub, res } = await upgraded(name);
  return { hub, runner: await FakeRunner.attach(res, name) };
}

/** The result if it came within `ms`, else "pending" (a query the hub sent on waits for its runner). */
const within = (p: Promise<HubQueryResult>, ms = 300) => Promise.race([p, new Promise<"pending">((r) => setTimeout(() => r("pending"), ms))]);

const queryBy = (requestId: string) => (f: HubToRunnerFrame): f is QueryFrame => f.type === "query" && f.requestId === requestId;

describe("the runner hub's buffer budget", () => {
  it("refuses a buffered query or a stream as busy while running ones hold the budget; later ones still run", async () => {
    const { hub, runner } = await connected();
    // Defaults: 8 MiB per buffered query, 24 MiB for the hub: three fill it.
    const running = ["a", "b", "c"].map((n) => hub.query({ id: `wide-${n}`, requestId: `r-${n}`, sql: `SELECT ${n}` }));
    const sent = await Promise.all(["a", "b", "c"].map((n) => runner.next(queryBy(`r-${n}`))));
    expect(sent.map((q) => q.maxBytes)).toEqual([8 * MiB, 8 * MiB, 8 * MiB]);

    for (const maxBytes of [undefined, 1024]) {
      const refused = await within(hub.query({ id: "wide-d", requestId: "r-d", sql: "SELECT d", maxBytes }));
      expect(refused).toMatchObject({ ok: false, error: { code: "busy", message: expect.stringContaining("budget 24.0 MiB") } });
    }
    expect(runner.received.some(queryBy("r-d"))).toBe(false);

    // A stream reserves the frames its reader may leave unread: there is no room for those either.
    expect(await hub.queryStream({ id: "stream-e", requestId: "r-e", sql: "SELECT e" }, 1000)).toMatchObject({ ok: false, error: { code: "busy", message: expect.stringContaining("retry shortly") } });

    // A settled query gives its bytes back.
    runner.answer(sent[0]!, [[["north", 1]]]);
    expect(await running[0]).toMatchObject({ ok: true, rows: [["north", 1]] });
    const again = hub.query({ id: "wide-d", requestId: "r-d2", sql: "SELECT d" });
    runner.answer(await runner.next(queryBy("r-d2")), [[["east", 3]]]);
    expect(await again).toMatchObject({ ok: true, rows: [["east", 3]] });
    sent.slice(1).forEach((q) => runner.answer(q, []));
    await Promise.all(running);
  });

  it("cannot be configured so that one buffered query exceeds the budget", () => {
    expect(HubSettingsSchema.safeParse({ CIO_RUNNER_MAX_BYTES: String(30 * MiB) }).success).toBe(false);
    expect(HubSettingsSchema.safeParse({ CIO_RUNNER_MAX_BYTES: String(64 * MiB), CIO_RUNNER_BUFFER_BUDGET_BYTES: String(64 * MiB) }).success).toBe(false);
    expect(HubSettingsSchema.safeParse({ CIO_RUNNER_MAX_BYTES: String(30 * MiB), CIO_RUNNER_BUFFER_BUDGET_BYTES: String(32 * MiB) }).success).toBe(true);
  });
});

describe("the runner hub's streams", () => {
  const doc = [{ name: "doc", type: "text" }];
  /** One row whose rows frame is `bytes` long in all (header included). */
  const rowOf = (q: QueryFrame, seq: number, bytes: number) => {
    const frame = (body: string) => encodeRowsFrame({ type: "rows", id: q.id, requestId: q.requestId, seq, rows: [[body]] });
    return { type: "rows" as const, id: q.id, requestId: q.requestId, seq, rows: [["x".repeat(bytes - frame("").length)]] };
  };
  const lines = async (body: ReadableStream<Uint8Array>) => (await new Response(body).text()).trim().split("\n").map((l) => JSON.parse(l) as unknown);

  it("advertises its frame limit in hello-ack and fails only the query whose rows frame is larger; the runner stays", async () => {
    const { hub, runner } = await connected();
    expect(runner.received.find((f) => f.type === "hello-ack")).toMatchObject({ maxFrameBytes: MiB });
    const stream = await hub.queryStream({ id: "wide", requestId: "r-wide", sql: "SELECT doc" }, 1000);
    if (!stream.ok) throw new Error(stream.error.message);
    const q = await runner.next(queryBy("r-wide"));
    runner.send({ type: "columns", id: q.id, requestId: q.requestId, columns: doc });
    runner.send(rowOf(q, 0, MiB + 1));
    expect(await lines(stream.body)).toEqual([{ columns: doc }, { error: { code: "protocol_error", message: expect.stringContaining(`over the limit of ${MiB} bytes`) } }]);
    await runner.next((f) => f.type === "cancel" && f.id === q.id);

    const next = hub.query({ id: "after", requestId: "r-after", sql: "SELECT 1" });
    runner.answer(await runner.next(queryBy("r-after")), [[["north", 1]]]);
    expect(await next).toMatchObject({ ok: true, rows: [["north", 1]] });
    expect(runner.closed).toBeNull();
  });

  it("reserves the frames an unread stream may hold against the buffer budget, with fewer credits when room is short", async () => {
    const { hub, runner } = await connected();
    const open = async (n: string) => {
      const s = await hub.queryStream({ id: `s-${n}`, requestId: `r-${n}`, sql: `SELECT ${n}` }, 1000);
      return s.ok ? { body: s.body, q: await runner.next(queryBy(`r-${n}`)) } : s.error;
    };
    // Defaults: K = 8 frames of at most 1 MiB per stream, a 24 MiB budget.
    const a = await open("a");
    const b = await open("b");
    const buffered = hub.query({ id: "buf", requestId: "r-buf", sql: "SELECT buf", maxBytes: 4 * MiB });
    const c = await open("c");
    expect([a, b, c].map((s) => ("q" in s ? s.q.credits : s))).toEqual([8, 8, 4]);
    expect(await open("d")).toMatchObject({ code: "busy" });
    expect(await within(hub.query({ id: "small", requestId: "r-small", sql: "SELECT 1", maxBytes: 1024 }))).toMatchObject({ ok: false, error: { code: "busy" } });

    // An unread stream holds its K frames at the limit, and not one more.
    if (!("q" in a)) throw new Error("stream a was refused");
    runner.send({ type: "columns", id: a.q.id, requestId: a.q.requestId, columns: doc });
    for (let seq = 0; seq <= 8; seq++) runner.send(rowOf(a.q, seq, MiB));
    await runner.next((f) => f.type === "cancel" && f.id === a.q.id);
    expect(runner.acks(a.q.id)).toBe(0);
    const got = await lines(a.body);
    expect(got).toHaveLength(10);
    expect(got.at(-1)).toEqual({ error: { code: "protocol_error", message: expect.stringContaining("more than 8 unacknowledged chunks") } });

    // Its reservation is back: a buffered query fits again.
    const small = hub.query({ id: "small", requestId: "r-small2", sql: "SELECT 1", maxBytes: 1024 });
    runner.answer(await runner.next(queryBy("r-small2")), [[["east", 3]]]);
    expect(await small).toMatchObject({ ok: true });
    runner.answer(await runner.next(queryBy("r-buf")), []);
    await buffered;
    for (const s of [b, c]) if ("body" in s) await s.body.cancel();
  });
});

describe("the runner hub's hello", () => {
  it("answers pings before hello, and keeps a connection's newest hello (a runner whose schema was slow to read says it again)", async () => {
    const { hub, res } = await upgraded("slow-schema");
    const ws = res.webSocket!;
    ws.accept();
    const received: string[] = [];
    ws.addEventListener("message", (e) => void received.push(e.data as string));
    const next = async (pred: (s: string) => boolean) => {
      for (let i = 0; i < 60 && !received.some(pred); i++) await new Promise((r) => setTimeout(r, 50));
      return received.find(pred);
    };
    ws.send(PING_FRAME);
    expect(await next((s) => s === PONG_FRAME)).toBe(PONG_FRAME);
    const acks = () => received.filter((s) => s.includes('"hello-ack"')).length;
    ws.send(JSON.stringify(helloFrame("slow-schema", { schema: { tables: [] } })));
    await next(() => acks() === 1);
    expect((await hub.status("slow-schema")).schema.tables).toEqual([]);
    const late = helloFrame("slow-schema");
    ws.send(JSON.stringify(late));
    await next(() => acks() === 2);
    const status = await hub.status("slow-schema");
    expect(status).toMatchObject({ status: "connected", schema: late.schema });
    expect(status.connections).toHaveLength(1);
    ws.close(1000, "done");
  });
});

describe("the runner hub's wire ids", () => {
  it("gives a retry with the same id a fresh wire id, so the old query's late frames never reach it", async () => {
    const { hub, runner } = await connected();
    const first = hub.query({ id: "retry-me", requestId: "r-1", sql: "SELECT pg_sleep(60)" });
    const q1 = await runner.next(queryBy("r-1"));
    expect(await hub.cancel("retry-me")).toBe(true);
    expect(await first).toMatchObject({ ok: false, error: { code: "cancelled" } });
    await runner.next((f) => f.type === "cancel" && f.id === q1.id); // the cancel names the wire id

    const second = hub.query({ id: "retry-me", requestId: "r-2", sql: "SELECT 1" });
    const q2 = await runner.next(queryBy("r-2"));
    // The runner was still busy with the first: its cancellation arrives now.
    runner.send({ type: "error", id: q1.id, requestId: q1.requestId, code: "cancelled", message: "the query was cancelled by the hub" });
    runner.answer(q2, [[["north", 1]]]);
    expect(await second).toMatchObject({ ok: true, rows: [["north", 1]] });
    expect(q2.id).not.toBe(q1.id);
  });

  it("fits the runner's id limit for the longest caller id, and cancels by the caller's id", async () => {
    const { hub, runner } = await connected();
    const id = "x".repeat(128);
    const pending = hub.query({ id, requestId: "r-long", sql: "SELECT 1" });
    const q = await runner.next(queryBy("r-long"));
    expect(q.id.length).toBeLessThanOrEqual(QUERY_ID_MAX);
    expect(QueryFrameSchema.safeParse(q).success).toBe(true);
    expect(await hub.cancel(id)).toBe(true);
    await runner.next((f) => f.type === "cancel" && f.id === q.id);
    expect(await pending).toMatchObject({ ok: false, error: { code: "cancelled" } });
  });

  it("takes a session socket turn's request id (longer than the runner's limit) and sends the runner its first 128 characters", async () => {
    const { hub, runner } = await connected();
    const requestId = `${"u".repeat(128)}.${"t".repeat(128)}`;
    const pending = hub.query({ id: "turn-sql", requestId, sql: "SELECT 1" });
    const q = await runner.next((f): f is QueryFrame => f.type === "query" && f.requestId.startsWith("uuu"));
    expect(q.requestId).toBe("u".repeat(128));
    expect(QueryFrameSchema.safeParse(q).success).toBe(true);
    runner.answer(q, [[[1]]]);
    expect(await pending).toMatchObject({ ok: true, rows: [[1]] });
  });
});
