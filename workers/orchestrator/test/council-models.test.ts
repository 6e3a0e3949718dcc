/**
 * An assistant may name only a model the operator configured: anything else is refused when the council
 * opens (400 naming the field and the allowed models), over the council API and over `cio/council`, since
 * the name would otherwise reach the upstream on the operator's key, or Workers AI.
 */
import { env, exports } from "cloudflare:workers";
import { describe, expect, inject, it } from "vitest";
import { settleCall } from "../src/usage.js";
import { assertCouncilModels, councilModels } from "../../../durable-objects/council/model.js";
import type { ChatReply } from "../../../lib/protocol/index.js";
import { released } from "../../../lib/rpc.js";
import { limiterStub } from "../../../lib/do-names.js";
import type { RateLimiterDO } from "../../../durable-objects/rate-limiter/index.js";
import { create, ctx, DB, get, orch, patchEnv, persona, rows, says, scripted, settled, tenant, when } from "./council-helpers.js";

const chat = (x: unknown) => released((exports as unknown as { default: { chat(x: unknown): Promise<ChatReply> } }).default.chat(x));
const AI = {} as never;
/** An env of vars (and maybe an AI binding), as the settings read it. */
const vars = (v: Record<string, unknown>): object => v;
const WAI = "@cf/meta/llama-3.3-70b-instruct-fp8-fast";

describe("the models a council may call", () => {
  it("are the configured ones, each with the provider that serves it", () => {
    const upstream = { CIO_UPSTREAM_BASE_URL: "https://up.example/v1", CIO_UPSTREAM_MODELS: "a,b", CIO_AUTO_MODEL: "c" };
    expect([...councilModels(upstream)]).toEqual([["a", "upstream"], ["b", "upstream"], ["c", "upstream"]]);
    expect([...councilModels({ ...upstream, AI })]).toEqual([["a", "upstream"], ["b", "upstream"], ["c", "upstream"], [WAI, "workers-ai"]]);
    expect([...councilModels(vars({ AI, CIO_COUNCIL_MODEL: "@cf/own" }))]).toEqual([[WAI, "workers-ai"], ["@cf/own", "workers-ai"]]);
    // Without an upstream its models and CIO_AUTO_MODEL are not offered; without a provider nothing is.
    expect([...councilModels(vars({ CIO_UPSTREAM_MODELS: "a", CIO_AUTO_MODEL: "c", CIO_COUNCIL_MODEL: "x" }))]).toEqual([]);
  });

  it("refuses any other name, with Workers AI bound or not", () => {
    const refused = (env: object, model: string) => {
      try {
        assertCouncilModels(env, [{}, { model: WAI }, { model }]);
        return null;
      } catch (err) {
        return (err as { toJSON(): unknown }).toJSON();
      }
    };
    expect(refused({ AI }, WAI)).toBeNull();
    expect(refused({ AI }, "@cf/some/other-model")).toMatchObject({
      status: 400,
      error: { param: "assistants[2].model", code: "model_not_found", message: expect.stringContaining(`Allowed models: ${WAI}.`) },
    });
    expect(refused({ AI, CIO_UPSTREAM_BASE_URL: "https://up.example/v1", CIO_UPSTREAM_MODELS: "a" }, "gpt-4o")).toMatchObject({
      error: { param: "assistants[2].model", message: expect.stringContaining(`Allowed models: a, ${WAI}.`) },
    });
    expect(refused({}, "a")).toMatchObject({ status: 501, error: { type: "server_error", code: "no_model_provider" } });
  });
});

describe("an assistant naming a model that is not offered", () => {
  it("POST /v1/councils: refused with a 400 naming assistants[i].model and the allowed models; nothing opens", async () => {
    const t = await tenant();
    const body = { id: "bad-model", question: "Which model?", assistants: [{ ...persona("alpha"), model: "mock-model" }, { ...persona("beta"), model: "gpt-4o-on-your-key" }] };
    const r = await orch().councils({ ...ctx(t), action: "create", body });
    expect(r).toMatchObject({ kind: "error", error: { status: 400, error: { type: "invalid_request_error", param: "assistants[1].model", code: "model_not_found" } } });
    expect(r.kind === "error" && r.error.error.message).toContain("Allowed models: mock-model.");
    expect(await get(t, "bad-model")).toMatchObject({ kind: "error", error: { status: 404 } });
    expect(await rows("SELECT id FROM councils WHERE tenant_id = ?", t)).toEqual([]);

    // A configured model is taken.
    const q = scripted("Which model, allowed?", [when("alpha", null, says("YES")), when("beta", null, says("YES"))]);
    const ok = await orch().councils({ ...ctx(t), action: "create", body: { ...body, question: q, assistants: body.assistants.map((a) => ({ ...a, model: "mock-model" })) } });
    expect(ok).toMatchObject({ kind: "ok", status: 201, body: { assistants: [{ model: "mock-model" }, { model: "mock-model" }] } });
    await settled(t, "bad-model");
  });

  it("cio/council: the council field's assistants are checked the same way", async () => {
    const t = await tenant();
    const council = { assistants: [{ ...persona("alpha"), model: "gpt-4o-on-your-key" }, persona("beta")], options: ["YES", "NO"] };
    const reply = await chat({ requestId: `req-${crypto.randomUUID().slice(0, 8)}`, tenantId: t, keyId: "k1", body: { model: "cio/council", council, messages: [{ role: "user", content: "Which model?" }] } });
    expect(reply).toMatchObject({ kind: "error", error: { status: 400, error: { param: "assistants[0].model", code: "model_not_found" } } });
    expect(reply.kind === "error" && reply.error.error.message).toContain("Allowed models: mock-model.");
    expect(await rows("SELECT id FROM councils WHERE tenant_id = ?", t)).toEqual([]);
  });
});

describe("what a council's model calls cost", () => {
  it("is booked to the tenant like its chats: the daily budget sees the assistants' tokens", async () => {
    const t = await tenant();
    const question = scripted("Tea or coffee?", [when("alpha", 1, says("TEA")), when("beta", 1, says("TEA"))]);
    const c = await orch().councils({ ...ctx(t), action: "create", body: { question, assistants: [persona("alpha"), persona("beta")], options: ["TEA", "COFFEE"], max_rounds: 1 } });
    if (c.kind !== "ok") throw new Error(JSON.stringify(c));
    await settled(t, c.body.id);
    const limiter = limiterStub((env as unknown as { RATE_LIMITER: DurableObjectNamespace<RateLimiterDO> }).RATE_LIMITER, t);
    await expect.poll(async () => (await limiter.snapshot("none")).tokensToday, { timeout: 5_000 }).toBeGreaterThan(0);
  });

  it("a fixed-option council runs where the deployment has no default model, only the one its assistants name", async () => {
    const t = await tenant();
    const id = "no-default-model";
    // Only CIO_AUTO_MODEL names a model: nothing for a moderator, which fixed options never need.
    await patchEnv(t, id, () => ({ CIO_UPSTREAM_MODELS: "", CIO_AUTO_MODEL: "mock-model", CIO_COUNCIL_MODEL: undefined, AI: undefined }));
    const who = ["a", "b"].map((w) => ({ ...persona(w), model: "mock-model" }));
    await create(t, { id, question: scripted("Fixed?", who.map((a) => when(a.id, null, says("YES")))), assistants: who, options: ["YES", "NO"], max_rounds: 1 });
    expect(await settled(t, id)).toMatchObject({ status: "consensus", decision: { option: "YES" } });
  });

  it("free answers are grouped by CIO_AUTO_MODEL where the deployment names no other model", async () => {
    const t = await tenant();
    const id = "auto-moderator";
    const run = crypto.randomUUID().slice(0, 8);
    await patchEnv(t, id, () => ({ CIO_UPSTREAM_MODELS: "", CIO_AUTO_MODEL: "mock-model", CIO_COUNCIL_MODEL: undefined, AI: undefined }));
    const who = ["a", "b"].map((w) => ({ ...persona(w), model: "mock-model" }));
    const moderator = { when: ["Answers:"], text: '{"groups": [{"label": "Paris", "members": [1, 2]}]}', id: `${run}-moderator` };
    const question = scripted("Capital of France?", [moderator, when("a", null, says("Paris")), when("b", null, says("Paris, France"))]);
    await create(t, { id, question, assistants: who, max_rounds: 1, threshold: 0.6 });
    expect(await settled(t, id)).toMatchObject({ status: "consensus", decision: { option: "Paris" } });
    const asked = (await (await fetch(`${inject("upstreamUrl").replace(/\/v1$/, "")}/__requests?id=${run}-moderator`)).json()) as { body: { model: string } }[];
    expect(asked.map((r) => r.body.model)).toEqual(["mock-model"]);
  });

  it("each assistant's call is admitted: a council opened past the tenant's daily budget fails saying so, calling no model", async () => {
    const t = await tenant();
    await DB().prepare("UPDATE tenants SET daily_token_budget = 10 WHERE id = ?").bind(t).run();
    await settleCall(env as never, t, undefined, "mock-model", { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 });
    const run = crypto.randomUUID().slice(0, 8);
    const who = ["a", "b"].map(persona);
    const c = await create(t, { question: scripted("Spent?", who.map((a) => when(a.id, null, says("YES"), { id: `${run}-${a.id}` }))), assistants: who, options: ["YES", "NO"], max_rounds: 1 });
    const done = await settled(t, c.id);
    expect(done.status).toBe("failed");
    expect(done.error).toMatch(/daily token budget/);
    for (const a of who) expect(await (await fetch(`${inject("upstreamUrl").replace(/\/v1$/, "")}/__requests?id=${run}-${a.id}`)).json()).toEqual([]);
  });
});
