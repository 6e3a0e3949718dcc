/**
 * A model call is booked to the tenant whatever usage its upstream reports: the providers hand on only sane
 * usage, so every consumer books the upstream's counts or, when they are not sane (string or negative counts,
 * no total), our estimate. A council's assistant and the sql tool (sql-tool.test.ts) once booked the raw
 * counts, which the limiter's settlement refused, so their calls were booked not at all.
 */
import { describe, expect, it } from "vitest";
import { limiterStub } from "../../../lib/do-names.js";
import { Logger } from "../../../lib/log.js";
import { withDirective } from "../../../test/mock-upstream/directive.js";
import { eventually } from "../../../test/support/eventually.js";
import { providerModel } from "../../../durable-objects/council/model.js";
import { openAiProvider } from "../src/providers/openai-compatible/provider.js";
import type { ModelEvent, ModelProvider } from "../src/providers/provider.js";
import { workersAiProvider } from "../src/providers/workers-ai/index.js";
import { orchestratorSettings } from "../src/settings.js";
import { upstreamConfig } from "../src/upstream.js";
import { baseEnv, newTenant, user } from "./agent/helpers.js";

const BROKEN: Record<string, Record<string, unknown>> = {
  "string counts": { prompt_tokens: "12", completion_tokens: "3", total_tokens: "15" },
  "negative counts": { prompt_tokens: -1000, completion_tokens: 3, total_tokens: -997 },
  "no total": { prompt_tokens: 12, completion_tokens: 3 },
};

const log = new Logger({ component: "test" });
const tokensToday = (tenantId: string) => eventually(() => limiterStub(baseEnv.RATE_LIMITER, tenantId).snapshot("k").then((s) => s.tokensToday), (n) => n > 0);

async function events(provider: ModelProvider, content: string, stream: boolean): Promise<ModelEvent[]> {
  const out: ModelEvent[] = [];
  for await (const ev of provider.round({ messages: [user(content)], tools: [], requestId: "r", signal: AbortSignal.timeout(5_000), stream, params: {} })) out.push(ev);
  return out;
}

const upstream = () => {
  const s = orchestratorSettings(baseEnv);
  return openAiProvider(upstreamConfig(s, s.CIO_UPSTREAM_BASE_URL!), "mock-model", log);
};

describe("usage an upstream reports that is not sane", () => {
  for (const [name, usage] of Object.entries(BROKEN)) {
    it(`${name}: no provider hands it on (an OpenAI-compatible answer, streamed or not; Workers AI)`, async () => {
      const content = withDirective("one two three", { text: "four five", usage });
      for (const stream of [false, true]) {
        const got = await events(upstream(), content, stream);
        expect(got.filter((e) => e.type === "text").length, `stream: ${stream}`).toBeGreaterThan(0);
        expect(got.filter((e) => e.type === "usage"), `stream: ${stream}`).toEqual([]);
      }
      const ai = workersAiProvider({ run: async () => ({ response: "four five", usage }) }, "@cf/test/m");
      expect((await events(ai, "one two three", false)).filter((e) => e.type === "usage")).toEqual([]);
    });

    it(`${name}: a council assistant's call books our estimate`, async () => {
      const tenantId = await newTenant();
      const model = providerModel(baseEnv as never, log, tenantId, crypto.randomUUID(), null);
      const text = await model.complete({ model: "mock-model", system: "You are an assistant.", user: withDirective("Should we buy? one two three four", { text: "BUY because five six", usage }) }, AbortSignal.timeout(5_000));
      expect(text).toContain("BUY");
      expect(await tokensToday(tenantId)).toBeGreaterThan(0);
    });
  }
});
