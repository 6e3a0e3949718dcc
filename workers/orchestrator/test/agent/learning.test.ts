import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { FeedbackReply } from "../../src/feedback.js";
import { grantTool, registerHttpsTool } from "../../src/registry/index.js";
import { baseEnv, chat, completionOf, mockOrigin, newTenant, OPENAI, scripted, uniq, user } from "./helpers.js";

const orch = () => (exports as unknown as { default: { feedback(x: unknown): Promise<FeedbackReply> } }).default;

/** Two tools that a request matches equally well: only what was learned can tell them apart. */
async function twin(tenantId: string, prefix: string, working: boolean) {
  // "x" keeps the suffix one word: an all-digit suffix is dropped by the tokenizer, and the shorter
  // document would then win on BM25's length normalisation (about one run in twenty).
  const name = `${prefix}-x${crypto.randomUUID().slice(0, 8)}`;
  const manifest = { name, description: "Stock quote lookup for a company", parameters: { type: "object", properties: {} }, timeoutMs: 2000, version: "1", examples: ["stock quote for ACME"] };
  await registerHttpsTool(baseEnv, working ? `${mockOrigin()}/tools/${name}` : `${mockOrigin()}/nowhere`, manifest, { public: false });
  await grantTool(baseEnv, tenantId, name);
  return name;
}

const picked = async (tenantId: string, requestId?: string) => completionOf(await chat([user("stock quote for ACME")], { tenantId, requestId })).cio.tools[0]!;

describe("learning loop", () => {
  it("a tool that keeps failing sinks below an equally relevant one, also in the list offered to a model", async () => {
    const tenantId = await newTenant();
    const alpha = await twin(tenantId, "alpha-quote", false);
    const beta = await twin(tenantId, "beta-quote", true);
    expect(await picked(tenantId)).toMatchObject({ name: alpha, ok: false });
    expect(await picked(tenantId)).toMatchObject({ name: beta, ok: true });
    expect(await picked(tenantId)).toMatchObject({ name: beta, ok: true });

    const id = uniq("offered");
    await chat([scripted("x", [{ text: "ok" }], id)], { tenantId, settings: OPENAI });
    const [logged] = (await (await fetch(`${mockOrigin()}/__requests?id=${id}`)).json()) as { body: { tools: { function: { name: string } }[] } }[];
    const order = logged!.body.tools.map((t) => t.function.name);
    expect(order.indexOf(beta)).toBeLessThan(order.indexOf(alpha));

    const stats = await baseEnv.DB.prepare("SELECT tool_name, calls, success_ema FROM tool_stats WHERE tenant_id = ? ORDER BY tool_name").bind(tenantId).all();
    expect(stats.results).toEqual([
      { tool_name: alpha, calls: 1, success_ema: 0 },
      { tool_name: beta, calls: 2, success_ema: 1 },
    ]);
  });

  it("a well-rated tool rises above an equally relevant one", async () => {
    const tenantId = await newTenant();
    const gamma = await twin(tenantId, "gamma-quote", true);
    const delta = await twin(tenantId, "delta-quote", true);
    expect((await picked(tenantId)).name).toBe(delta); // "delta" sorts before "gamma"; both unrated
    // A model-driven answer used gamma; the user liked it.
    const requestId = uniq("req");
    await chat([scripted("x", [{ tool_calls: [{ name: gamma, arguments: {} }] }, { echoTools: true }])], { tenantId, requestId, settings: OPENAI });
    const reply = await orch().feedback({ tenantId, requestId: "fb-1", body: { request_id: requestId, rating: 1 } });
    expect(reply).toEqual({ kind: "ok", result: { request_id: requestId, rating: 1, tools: [gamma] } });
    expect((await picked(tenantId)).name).toBe(gamma);
  });

  it("feedback is refused for unknown or foreign answers, bad ratings and second ratings, and then changes nothing", async () => {
    const [owner, other] = [await newTenant(), await newTenant()];
    await twin(owner, "quote", true);
    const requestId = uniq("req");
    const ok = await picked(owner, requestId);
    expect(ok.name).toBeTruthy();
    const before = await baseEnv.DB.prepare("SELECT rating_ema FROM tool_stats WHERE tenant_id = ?").bind(owner).first();
    const foreign = await orch().feedback({ tenantId: other, requestId: "fb", body: { request_id: requestId, rating: -1 } });
    expect(foreign).toMatchObject({ kind: "error", error: { status: 404, error: { code: "unknown_request" } } });
    expect(await orch().feedback({ tenantId: owner, requestId: "fb", body: { request_id: requestId, rating: 7 } })).toMatchObject({ kind: "error", error: { status: 400 } });
    expect(await baseEnv.DB.prepare("SELECT rating_ema FROM tool_stats WHERE tenant_id = ?").bind(owner).first()).toEqual(before);
    expect((await orch().feedback({ tenantId: owner, requestId: "fb", body: { request_id: requestId, rating: -1 } })).kind).toBe("ok");
    expect(await orch().feedback({ tenantId: owner, requestId: "fb", body: { request_id: requestId, rating: 1 } })).toMatchObject({ kind: "error", error: { status: 409 } });
    const rows = await (env as unknown as { DB: D1Database }).DB.prepare("SELECT tool_name, request_id, ok FROM tool_calls WHERE tenant_id = ?").bind(owner).all();
    expect(rows.results).toEqual([{ tool_name: ok.name, request_id: requestId, ok: ok.ok ? 1 : 0 }]);
  });
});
