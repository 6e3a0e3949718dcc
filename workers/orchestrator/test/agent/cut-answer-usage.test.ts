/**
 * What a cio/auto answer ended early books: the rounds finished, plus the round in progress, whose prompt the
 * upstream had read (the system prompt, the tool results, the tools' schemas) and whose text it had written.
 */
import { createExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { limiterStub } from "../../../../lib/do-names.js";
import { withDirective } from "../../../../test/mock-upstream/directive.js";
import { eventually } from "../../../../test/support/eventually.js";
import { runChat } from "../../src/chat.js";
import type { OrchestratorEnv } from "../../src/env.js";
import { baseEnv, chat, keyOf, mockOrigin, mockTool, newTenant, OPENAI, uniq, user } from "./helpers.js";

const tokensToday = (tenantId: string) => limiterStub(baseEnv.RATE_LIMITER, tenantId).snapshot("k").then((s) => s.tokensToday);
const booked = (tenantId: string) => eventually(() => tokensToday(tenantId), (n) => n > 0);

/** Round 1 calls a tool that answers 8000 characters; round 2, which reads them, answers 200 words. */
async function bigToolTurn(extra: Record<string, unknown> = {}) {
  const tenantId = await newTenant();
  const name = uniq("big");
  await mockTool(tenantId, name);
  const words = Array.from({ length: 200 }, (_, i) => `w${i}`).join(" ");
  const script = [{ tool_calls: [{ name, arguments: { mode: "big", n: 8000 } }] }, { text: words }];
  return { tenantId, message: user(withDirective("go", { script, noUsage: true, ...extra })) };
}

describe("a cio/auto answer ended in a later round", () => {
  it("a stream cut near its end books about what the whole answer would have: the cut round read the tool's result", async () => {
    const read = async (cutAfter?: number) => {
      const { tenantId, message } = await bigToolTurn({ chunkDelayMs: 5 });
      const reply = await chat([message], { tenantId, settings: OPENAI, body: { stream: true } });
      if (reply.kind !== "stream") throw new Error(`expected a stream, got ${JSON.stringify(reply)}`);
      const reader = reply.body.getReader();
      const dec = new TextDecoder();
      for (let seen = 0; ; ) {
        const { value, done } = await reader.read();
        if (done) break;
        if (dec.decode(value).includes('"content":"w')) seen++;
        if (cutAfter !== undefined && seen >= cutAfter) {
          await reader.cancel();
          break;
        }
      }
      return booked(tenantId);
    };
    const whole = await read();
    const cut = await read(190);
    // Over 2000 tokens of tool result were read by the cut round, and 190 of its 200 words written.
    expect(whole).toBeGreaterThan(2000);
    expect(cut).toBeGreaterThan(whole * 0.9);
    expect(cut).toBeLessThanOrEqual(whole);
  });

  it("a JSON answer whose session turn is stopped during the second round books the first and the second's prompt", async () => {
    const id = uniq("stopped");
    // The second round, the one whose prompt holds the tool's result, answers only after a long wait.
    const { tenantId, message } = await bigToolTurn({ id, cases: [{ when: ["xxxxxxxx"], delayMs: 10_000 }] });
    const stopped = new AbortController();
    const call = { requestId: crypto.randomUUID(), tenantId, keyId: keyOf(tenantId), body: { model: "cio/auto", messages: [message] } };
    const reply = runChat({ ...baseEnv, ...OPENAI } as OrchestratorEnv, createExecutionContext(), call, stopped.signal);
    const requests = () => fetch(`${mockOrigin()}/__requests?id=${id}`).then((r) => r.json() as Promise<unknown[]>);
    expect(await eventually(requests, (r) => r.length === 2)).toHaveLength(2);
    stopped.abort(new Error("turn stopped"));
    await expect(reply).rejects.toThrow("turn stopped");
    // Round 2's prompt alone is over 2000 tokens by the estimate (8000 characters of tool result).
    expect(await booked(tenantId)).toBeGreaterThan(2000);
  });
});
