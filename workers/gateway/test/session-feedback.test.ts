/**
 * A session turn's answer can be rated with POST /v1/feedback by the `request_id` its `message` and `error`
 * events carry: the id its tool calls are recorded under, which a browser's socket cannot otherwise learn.
 */
import { describe, expect, it } from "vitest";
import { call, newTenant, type TenantFixture } from "../../../test/support/fixtures.js";
import { SessionClient } from "../../orchestrator/test/session-client.js";

const RSI = "Compute the RSI(14) of these closes: 44.34,44.09,44.15,43.61,44.33,44.83,45.10,45.42,45.84,46.08,45.89,46.03,45.61,46.28,46.28";

async function session(t: TenantFixture): Promise<string> {
  const res = await call("/v1/sessions", { method: "POST", headers: t.headers, body: JSON.stringify({}) });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

async function open(t: TenantFixture, id: string, requestId = `ws-${crypto.randomUUID()}`) {
  const c = SessionClient.from(await call(`/v1/sessions/${id}/ws`, { headers: { authorization: t.headers.authorization!, upgrade: "websocket", "x-request-id": requestId } }));
  await c.waitFor((f) => f.type === "ready");
  return c;
}

const answerOf = (c: SessionClient, id: string) => c.waitFor((f) => f.type === "message" && f.role === "assistant" && f.id === id, 15_000);

/** Tool calls reach D1 in batches (CIO_LEARNING_FLUSH_MS, another isolate): a 404 is asked again for a while. */
async function rate(t: TenantFixture, requestId: unknown) {
  for (let i = 0; ; i++) {
    const r = await call("/v1/feedback", { method: "POST", headers: t.headers, body: JSON.stringify({ request_id: requestId, rating: 1 }) });
    if (r.status !== 404 || i === 40) return { status: r.status, body: (await r.json()) as unknown };
    await new Promise((ok) => setTimeout(ok, 25));
  }
}

const resumed = async (t: TenantFixture, sid: string) => {
  const c = await open(t, sid);
  c.send({ type: "resume", after_seq: 0 });
  return c;
};

describe("rating a session turn's answer", () => {
  it("a socket turn's events carry the id its answer is rated by, also with the longest turn and request ids", async () => {
    const t = await newTenant();
    const sid = await session(t);
    const upgradeId = `ws-${"u".repeat(125)}`;
    const c = await open(t, sid, upgradeId);
    const turnId = `turn-${"x".repeat(123)}`;
    c.send({ type: "chat", id: turnId, content: RSI });
    const answer = await answerOf(c, turnId);
    c.close();
    expect(String(answer.content)).toMatch(/RSI\(14\) = 70\./);
    const rated = `${upgradeId}.${turnId}`;
    const question = c.events().find((f) => f.type === "message" && f.role === "user" && f.id === turnId);
    expect([question?.request_id, answer.request_id]).toEqual([rated, rated]);
    expect(await rate(t, answer.request_id)).toMatchObject({ status: 200, body: { request_id: rated, tools: ["technical-analysis"] } });

    // A client back later replays the same events, with their request_id.
    const later = await resumed(t, sid);
    expect((await answerOf(later, turnId)).request_id).toBe(rated);
    later.close();
  });

  it("a failed turn's error event carries it too", async () => {
    const t = await newTenant();
    const c = await open(t, await session(t), "ws-failing");
    c.send({ type: "chat", id: "t1", content: "hello", model: "no-such-model" });
    const failed = await c.waitFor((f) => f.type === "error" && f.id === "t1");
    c.close();
    expect(failed).toMatchObject({ seq: expect.any(Number), request_id: "ws-failing.t1" });
  });

  it("a chat completion with session_id is rated by its x-request-id, which its turn's events carry", async () => {
    const t = await newTenant();
    const sid = await session(t);
    const requestId = `http-${crypto.randomUUID()}`;
    const body = JSON.stringify({ model: "cio/auto", session_id: sid, messages: [{ role: "user", content: RSI }] });
    const res = await call("/v1/chat/completions", { method: "POST", headers: { ...t.headers, "x-request-id": requestId }, body });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-request-id")).toBe(requestId);
    const c = await resumed(t, sid);
    const answer = await c.waitFor((f) => f.type === "message" && f.role === "assistant");
    c.close();
    expect(answer.request_id).toBe(requestId);
    expect(await rate(t, requestId)).toMatchObject({ status: 200, body: { tools: ["technical-analysis"] } });
  });
});
