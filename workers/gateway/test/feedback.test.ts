import { describe, expect, it } from "vitest";
import { call, newTenant, type TenantFixture } from "../../../test/support/fixtures.js";

const RSI = "Compute the RSI(14) of these closes: 44.34,44.09,44.15,43.61,44.33,44.83,45.10,45.42,45.84,46.08,45.89,46.03,45.61,46.28,46.28";

/** An answer through cio/auto (builtin → technical-analysis); its request id is what users rate. */
async function toolAnswer(t: TenantFixture): Promise<string> {
  const res = await call("/v1/chat/completions", { method: "POST", headers: t.headers, body: JSON.stringify({ model: "cio/auto", messages: [{ role: "user", content: RSI }] }) });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { choices: { message: { content: string } }[]; cio: { tools: { name: string }[] } };
  expect(body.choices[0]!.message.content).toMatch(/RSI\(14\) = 70\.\d+/);
  expect(body.cio.tools.map((x) => x.name)).toEqual(["technical-analysis"]);
  return res.headers.get("x-request-id")!;
}

const rate = (t: TenantFixture, body: unknown) => call("/v1/feedback", { method: "POST", headers: t.headers, body: JSON.stringify(body) });

async function recorded(t: TenantFixture, requestId: string) {
  // Tool calls are written after the answer (waitUntil); poll briefly instead of assuming when.
  for (let i = 0; i < 50; i++) {
    const res = await rate(t, { request_id: requestId, rating: 1 });
    if (res.status !== 404) return res;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error("the tool call was never recorded");
}

describe("POST /v1/feedback", () => {
  it("ties a rating to the tools the answer used, once", async () => {
    const t = await newTenant();
    const requestId = await toolAnswer(t);
    const res = await recorded(t, requestId);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ request_id: requestId, rating: 1, tools: ["technical-analysis"] });
    const again = await rate(t, { request_id: requestId, rating: -1 });
    expect(again.status).toBe(409);
    expect(await again.json()).toMatchObject({ error: { code: "already_rated", param: "request_id" } });
  });

  it("another tenant cannot rate an answer it did not get", async () => {
    const [owner, intruder] = [await newTenant(), await newTenant()];
    const requestId = await toolAnswer(owner);
    expect((await recorded(owner, requestId)).status).toBe(200);
    // For the owner a second rating would be 409; for anyone else the answer does not exist.
    const res = await rate(intruder, { request_id: requestId, rating: -1 });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { type: "not_found_error", code: "unknown_request" } });
  });

  it("rejects a rating out of range in OpenAI's error shape", async () => {
    const t = await newTenant();
    const res = await rate(t, { request_id: "x", rating: 5 });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { type: "invalid_request_error", param: "rating" } });
  });

  it("takes keys with the feedback scope (a rating widget's) or the chat scope, and refuses others", async () => {
    const scoped = async (scopes: string[]) => (await rate(await newTenant({}, { scopes }), { request_id: "x", rating: 5 })).status;
    // 400 (the rating is out of range) means the scope let the request through.
    expect(await scoped(["feedback"])).toBe(400);
    expect(await scoped(["chat"])).toBe(400);
    expect(await scoped(["sessions"])).toBe(403);
  });

  it("needs an API key", async () => {
    const res = await call("/v1/feedback", { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(res.status).toBe(401);
  });
});
