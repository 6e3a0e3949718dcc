/** `cio/council` chats as calls: a council of their own each, booked once, and an answer that ends. */
import { runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { RateLimiterDO } from "../../../durable-objects/rate-limiter/index.js";
import { limiterStub } from "../../../lib/do-names.js";
import type { ChatReply } from "../../../lib/protocol/index.js";
import { released } from "../../../lib/rpc.js";
import { runChat } from "../src/chat.js";
import { persona, says, scripted, settled, tenant, when } from "./council-helpers.js";

const chat = (x: unknown) => released((exports as unknown as { default: { chat(x: unknown): Promise<ChatReply> } }).default.chat(x));
const duo = [persona("alpha"), persona("beta")];
const call = (tenantId: string, question: string, requestId = `req-${crypto.randomUUID().slice(0, 8)}`) => ({
  requestId,
  tenantId,
  keyId: "k1",
  body: { model: "cio/council", council: { assistants: duo, options: ["TEA", "COFFEE"], max_rounds: 1 }, messages: [{ role: "user", content: question }] },
});
/** Both assistants answer `option` in round 1. */
const both = (q: string, option: string, extra = {}) => scripted(q, duo.map((a) => when(a.id, 1, says(option), extra)));

function answerOf(reply: ChatReply) {
  if (reply.kind !== "json") throw new Error(`not an answer: ${JSON.stringify(reply)}`);
  const cio = (reply.completion as unknown as { cio: { council_id: string } }).cio;
  return { text: reply.completion.choices[0]!.message.content as string, councilId: cio.council_id };
}

describe("cio/council chats as calls", () => {
  it("two chats with the same x-request-id each get a council of their own, and their own answer", async () => {
    const t = await tenant();
    const requestId = `req-${crypto.randomUUID().slice(0, 8)}`;
    const tea = answerOf(await chat(call(t, both("Tea, once?", "TEA"), requestId)));
    const coffee = answerOf(await chat(call(t, both("Coffee, then?", "COFFEE"), requestId)));
    expect(tea.text).toContain("Decision: TEA");
    expect(coffee.text).toContain("Decision: COFFEE");
    expect(coffee.councilId).not.toBe(tea.councilId);
  });

  it("books the assistants' tokens once, as the upstream counted them: the chat itself is a request without tokens", async () => {
    const t = await tenant();
    const usage = { prompt_tokens: 100, completion_tokens: 7, total_tokens: 107 };
    answerOf(await chat(call(t, both("Booked once?", "TEA", { usage }))));
    const limiter = limiterStub((env as unknown as { RATE_LIMITER: DurableObjectNamespace<RateLimiterDO> }).RATE_LIMITER, t);
    const ledger = () =>
      runInDurableObject(limiter, (_o, state) => state.storage.sql.exec("SELECT model, requests, prompt_tokens, completion_tokens FROM usage ORDER BY model").toArray());
    await expect.poll(ledger, { timeout: 5_000 }).toEqual([
      { model: "cio/council", requests: 1, prompt_tokens: 0, completion_tokens: 0 },
      { model: "mock-model", requests: 2, prompt_tokens: 200, completion_tokens: 14 },
    ]);
    expect((await limiter.snapshot("k1")).tokensToday).toBe(2 * usage.total_tokens);
  });

  it("ends the answer with a clear error when the council has not finished by CIO_COUNCIL_CHAT_DEADLINE_MS; the council goes on", async () => {
    const t = await tenant();
    const started = Date.now();
    const deadlined = { ...(env as object), CIO_COUNCIL_CHAT_DEADLINE_MS: "300" };
    const reply = await runChat(deadlined as never, { waitUntil: () => undefined }, call(t, both("Slow to agree?", "TEA", { delayMs: 3_000 })));
    expect(Date.now() - started).toBeLessThan(2_500);
    expect(reply).toMatchObject({ kind: "error", error: { status: 504, error: { code: "council_timeout" } } });
    const message = reply.kind === "error" ? reply.error.error.message : "";
    expect(message).toMatch(/^Council (chat-\S+) did not finish within 300 ms \(it is running\)\. Council \1 goes on: GET \/v1\/councils\/\1\.$/);
    const councilId = message.split(" ")[1]!;
    expect(await settled(t, councilId, 10_000)).toMatchObject({ status: "consensus", decision: { option: "TEA" } });
  });
});
