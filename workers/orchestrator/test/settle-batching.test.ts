/**
 * Answers of one tenant that end close together are settled with its limiter in one call (usage.ts,
 * settleBatched): every slot is freed and every answer's usage booked, whichever call carried it.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { RateLimiterDO } from "../../../durable-objects/rate-limiter/index.js";
import { limiterStub } from "../../../lib/do-names.js";
import type { ChatReply } from "../../../lib/protocol/index.js";
import { runChat } from "../src/chat.js";
import type { OrchestratorEnv } from "../src/env.js";
import { baseEnv, completionOf, newTenant, user } from "./agent/helpers.js";

const CALLS = 6;

/** The tenant's real limiter behind a namespace that counts the batched settlements sent to it, and fails the first `failing`. */
function countingLimiter(failing = 0) {
  const real = baseEnv.RATE_LIMITER;
  const sent: number[] = [];
  const ns = {
    idFromName: (name: string) => real.idFromName(name),
    get: (id: DurableObjectId) => {
      const stub = real.get(id);
      return new Proxy(stub, {
        get: (target, prop) => {
          if (prop !== "settleMany") return Reflect.get(target, prop);
          return (items: Parameters<RateLimiterDO["settleMany"]>[0]) => {
            sent.push(items.length);
            return sent.length <= failing ? Promise.reject(new Error("limiter unreachable")) : target.settleMany(items);
          };
        },
      });
    },
  };
  return { ns: ns as unknown as OrchestratorEnv["RATE_LIMITER"], sent };
}

/** `ns` with its stubs' `settle` failing the first `n` times (a settlement that could not be sent). */
function failingSettles(ns: OrchestratorEnv["RATE_LIMITER"], n: number) {
  let left = n;
  return {
    idFromName: (name: string) => ns.idFromName(name),
    get: (id: DurableObjectId) =>
      new Proxy(ns.get(id), {
        get: (target, prop) => (prop === "settle" && left > 0 ? () => (left--, Promise.reject(new Error("limiter unreachable"))) : Reflect.get(target, prop)),
      }),
  } as unknown as OrchestratorEnv["RATE_LIMITER"];
}

/** `CALLS` passthrough answers of one tenant at once, each holding a slot reserved like the gateway's. */
async function answerTogether(env: OrchestratorEnv, tenantId: string) {
  const limiter = limiterStub(baseEnv.RATE_LIMITER, tenantId);
  const limits = { keyRpm: 100, keyConcurrency: CALLS, tenantRpm: 100, tenantConcurrency: CALLS, dailyTokenBudget: null, leaseTtlMs: 600_000 };
  const leases = await Promise.all(Array.from({ length: CALLS }, () => limiter.reserve({ keyId: "k", ...limits }) as unknown as Promise<{ leaseId: string }>));
  const requestIds = leases.map(() => crypto.randomUUID());
  const replies = await Promise.all(
    leases.map(async ({ leaseId }, i) => {
      const ctx = createExecutionContext();
      const body = { model: "mock-model", messages: [user(`answer number ${i}`)] };
      const reply: ChatReply = await runChat(env, ctx, { requestId: requestIds[i]!, tenantId, keyId: "k", leaseId, body });
      await waitOnExecutionContext(ctx);
      return reply;
    }),
  );
  return { limiter, replies, requestIds };
}

afterEach(() => vi.restoreAllMocks());

describe("settling answers in batches", () => {
  it("answers that end together free every slot and book every answer's usage in one call to the limiter", async () => {
    const tenantId = await newTenant();
    const { ns, sent } = countingLimiter();
    const env = { ...baseEnv, RATE_LIMITER: ns, CIO_SETTLE_BATCH_MS: "200" } as OrchestratorEnv;
    const { limiter, replies } = await answerTogether(env, tenantId);
    const booked = replies.reduce((n, r) => n + completionOf(r).usage!.total_tokens, 0);
    expect(sent).toEqual([CALLS]);
    expect(await limiter.snapshot("k")).toMatchObject({ keyInFlight: 0, tokensToday: booked });
  });

  it("with CIO_SETTLE_BATCH_MS=0 each answer settles with its own call", async () => {
    const tenantId = await newTenant();
    const { ns, sent } = countingLimiter();
    const env = { ...baseEnv, RATE_LIMITER: ns, CIO_SETTLE_BATCH_MS: "0" } as OrchestratorEnv;
    const { limiter, replies } = await answerTogether(env, tenantId);
    expect(sent).toEqual([]);
    const booked = replies.reduce((n, r) => n + completionOf(r).usage!.total_tokens, 0);
    expect(await limiter.snapshot("k")).toMatchObject({ keyInFlight: 0, tokensToday: booked });
  });

  it("a batch that cannot be sent is logged with every request it carried; the answers still go out", async () => {
    const tenantId = await newTenant();
    const { ns, sent } = countingLimiter(Infinity);
    const logged: string[] = [];
    const log = console.log.bind(console);
    vi.spyOn(console, "log").mockImplementation((line: unknown) => (typeof line === "string" && line.includes("could not be settled") ? void logged.push(line) : log(line)));
    const env = { ...baseEnv, RATE_LIMITER: ns, CIO_SETTLE_BATCH_MS: "200" } as OrchestratorEnv;
    const { replies, requestIds } = await answerTogether(env, tenantId);
    for (const r of replies) expect(r.kind).toBe("json");
    expect(sent).toEqual([CALLS, CALLS]); // the batch, then the slots alone (see the next test)
    expect(logged).toHaveLength(1);
    expect(JSON.parse(logged[0]!)).toMatchObject({ level: "error", requestIds: expect.arrayContaining(requestIds), calls: CALLS });
  });

  it("after a failed send the slots are freed by a second call, without the usage (booking it again could count it twice)", async () => {
    for (const batchMs of ["200", "0"]) {
      const tenantId = await newTenant();
      const { ns, sent } = countingLimiter(batchMs === "0" ? 0 : 1);
      // Unbatched, each answer's own settle fails once: the limiter's `settle` is made to throw for the first calls.
      const env = { ...baseEnv, RATE_LIMITER: batchMs === "0" ? failingSettles(ns, CALLS) : ns, CIO_SETTLE_BATCH_MS: batchMs } as OrchestratorEnv;
      const { limiter } = await answerTogether(env, tenantId);
      expect({ batchMs, sent: sent.length }).toEqual({ batchMs, sent: batchMs === "0" ? CALLS : 2 });
      expect(await limiter.snapshot("k")).toMatchObject({ keyInFlight: 0, tokensToday: 0 });
    }
  });
});
