/**
 * What tools spend on models the tenant pays for, inside a chat: booked to the tenant's usage and daily budget
 * as an image task's is, and refused once that budget is spent. The media tool is the real Worker (bound as
 * MEDIA_UNDER_TEST, see vitest.config.ts) with Workers AI replaced at the edge by test/support/ai-mock; the
 * pictures it draws land in its bucket, cio-media, which this Worker binds as MEDIA_BUCKET to count them.
 */
import { describe, expect, it } from "vitest";
import { imageUsage, transcriptUsage } from "../../../../lib/ai/token-estimates.js";
import { openDb, schema } from "../../../../lib/db/index.js";
import { limiterStub } from "../../../../lib/do-names.js";
import type { ToolService } from "../../../../lib/protocol/tool.js";
import whisper from "../../../../test/support/ai-mock/whisper.json";
import { eventually } from "../../../../test/support/eventually.js";
import { grantTool } from "../../src/registry/index.js";
import { baseEnv, chat, completionOf, mockTool, newTenant, OPENAI, scripted, uniq } from "./helpers.js";

const bindings = baseEnv as unknown as { MEDIA_UNDER_TEST: ToolService; MEDIA_BUCKET: R2Bucket };
/** The media Worker's default MEDIA_IMAGE_TOKENS. */
const IMAGE_TOKENS = 1000;

/** The media Worker, registered under a name of its own for this tenant only, with the manifest it reports. */
async function registerMedia(tenantId: string): Promise<string> {
  const name = uniq("media");
  const manifest = { ...(await bindings.MEDIA_UNDER_TEST.manifest()), name };
  await openDb(baseEnv.DB).insert(schema.tools).values({ name, transport: "rpc", target: "MEDIA_UNDER_TEST", manifest, public: false });
  await grantTool(baseEnv, tenantId, name);
  return name;
}

const pictures = async (tenantId: string) => (await bindings.MEDIA_BUCKET.list({ prefix: `media/${tenantId}/` })).objects;
const tokensToday = (tenantId: string) => limiterStub(baseEnv.RATE_LIMITER, tenantId).snapshot("k").then((s) => s.tokensToday);
const draw = (name: string, prompt: string) => ({ name, arguments: { action: "generate-image", prompt } });

async function withBudget(tenantId: string, budget: number, spent = 0) {
  await baseEnv.DB.prepare("UPDATE tenants SET daily_token_budget = ? WHERE id = ?").bind(budget, tenantId).run();
  if (spent) await limiterStub(baseEnv.RATE_LIMITER, tenantId).settle(null, { tenantId, model: "mock-model", usage: { prompt_tokens: spent, completion_tokens: 0, total_tokens: spent } });
}

/** Waits until the tenant's limiter has booked `expected` tokens (the chat's settle is batched), then reads it. */
const bookedOnce = (tenantId: string, expected: number) => eventually(() => tokensToday(tenantId), (n) => n >= expected);

describe("tools that spend the tenant's tokens, in a chat", () => {
  it("books each picture the media tool draws like an image task's: MEDIA_IMAGE_TOKENS plus its prompt", async () => {
    const tenantId = await newTenant();
    const name = await registerMedia(tenantId);
    const prompts = [1, 2, 3, 4].map((i) => `a lighthouse ${i}`);
    const reply = completionOf(await chat([scripted("draw four lighthouses", [{ tool_calls: prompts.map((p) => draw(name, p)) }, { text: "here they are" }])], { tenantId, settings: OPENAI }));
    expect(reply.cio.tools.map((t) => t.ok)).toEqual([true, true, true, true]);
    expect(await pictures(tenantId)).toHaveLength(4);
    const drawn = prompts.reduce((n, p) => n + imageUsage(p, IMAGE_TOKENS).total_tokens, 0);
    const expected = reply.usage!.total_tokens + drawn;
    expect(await bookedOnce(tenantId, expected)).toBe(expected);
    expect(drawn).toBeGreaterThanOrEqual(4 * IMAGE_TOKENS);
  });

  it("books a transcription as its transcript's tokens", async () => {
    const tenantId = await newTenant();
    const name = await registerMedia(tenantId);
    // The mock speech model hears words in anything that starts like a WAV file.
    const audioBase64 = btoa("RIFF\x24\x00\x00\x00WAVEfmt ");
    const call = { name, arguments: { action: "transcribe", audioBase64 } };
    const reply = completionOf(await chat([scripted("transcribe this", [{ tool_calls: [call] }, { text: "done" }])], { tenantId, settings: OPENAI }));
    expect(reply.cio.tools).toMatchObject([{ ok: true }]);
    const expected = reply.usage!.total_tokens + transcriptUsage(whisper.text.trim()).total_tokens;
    expect(await bookedOnce(tenantId, expected)).toBe(expected);
  });

  it("refuses the media tool (budget_exceeded, not retried) once the tenant's daily budget is spent: no picture is drawn", async () => {
    const tenantId = await newTenant();
    const name = await registerMedia(tenantId);
    await withBudget(tenantId, 100, 100);
    const reply = completionOf(await chat([scripted("draw a lighthouse", [{ tool_calls: [draw(name, "a lighthouse")] }, { text: "I could not" }])], { tenantId, settings: OPENAI }));
    expect(reply.cio.tools).toMatchObject([{ name, ok: false, error: { code: "budget_exceeded" } }]);
    expect(reply.cio.tools[0]!.error).toMatchObject({ message: expect.stringContaining("daily token budget") });
    expect(await pictures(tenantId)).toEqual([]);
    // Only the chat's own rounds are booked.
    const expected = 100 + reply.usage!.total_tokens;
    expect(await bookedOnce(tenantId, expected)).toBe(expected);
  });

  it("holds each call's tokens while it draws, so calls made at once cannot all pass a budget one of them spends", async () => {
    const tenantId = await newTenant();
    const name = await registerMedia(tenantId);
    // 1500 tokens: two pictures' holds (1000 each) reach it, so of four calls at once the last two are refused.
    await withBudget(tenantId, 1500);
    const calls = [1, 2, 3, 4].map((i) => draw(name, `a lighthouse ${i}`));
    const reply = completionOf(await chat([scripted("draw four lighthouses", [{ tool_calls: calls }, { text: "two of them" }])], { tenantId, settings: OPENAI }));
    const codes = reply.cio.tools.map((t) => (t.ok ? "ok" : t.error!.code)).sort();
    expect(codes).toEqual(["budget_exceeded", "budget_exceeded", "ok", "ok"]);
    expect(await pictures(tenantId)).toHaveLength(2);
  });

  it("books what an HTTPS tool reports spending, and refuses a report that would take tokens away", async () => {
    const tenantId = await newTenant();
    const name = uniq("paid");
    await mockTool(tenantId, name);
    const spend = (n: number) => ({ name, arguments: { mode: "spend", n } });
    const reply = completionOf(await chat([scripted("spend", [{ tool_calls: [spend(250), spend(-5000)] }, { text: "spent" }])], { tenantId, settings: OPENAI }));
    expect(reply.cio.tools).toMatchObject([{ ok: true }, { ok: false, error: { code: "tool_bad_response" } }]);
    const expected = reply.usage!.total_tokens + 250;
    expect(await bookedOnce(tenantId, expected)).toBe(expected);
  });
});
