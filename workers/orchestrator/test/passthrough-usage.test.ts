/**
 * A passthrough model's usage comes from the upstream as it answered: what it reports is booked against the
 * tenant's daily budget only when it is sane, and otherwise replaced by our estimate, for the client too.
 */
import { describe, expect, it } from "vitest";
import type { Usage } from "../../../lib/protocol/index.js";
import { limiterStub } from "../../../lib/do-names.js";
import { withDirective } from "../../../test/mock-upstream/directive.js";
import { eventually } from "../../../test/support/eventually.js";
import { baseEnv, chat, completionOf, newTenant, OPENAI, streamText, user } from "./agent/helpers.js";

const BROKEN: Record<string, Record<string, unknown>> = {
  "string counts": { prompt_tokens: "12", completion_tokens: "3", total_tokens: "15" },
  "negative counts": { prompt_tokens: -1000, completion_tokens: 3, total_tokens: -997 },
};

const sane = (u: Usage | undefined) => {
  expect(u).toBeDefined();
  for (const k of ["prompt_tokens", "completion_tokens", "total_tokens"] as const) {
    expect(Number.isInteger(u![k]) && u![k] >= 0, `${k}: ${JSON.stringify(u![k])}`).toBe(true);
  }
  expect(u!.total_tokens).toBe(u!.prompt_tokens + u!.completion_tokens);
  return u!;
};

const tokensToday = (tenantId: string) => limiterStub(baseEnv.RATE_LIMITER, tenantId).snapshot("k").then((s) => s.tokensToday);

describe("passthrough usage from a broken upstream", () => {
  for (const [name, usage] of Object.entries(BROKEN)) {
    it(`${name}: a JSON answer books and shows our estimate instead`, async () => {
      const tenantId = await newTenant();
      const reply = await chat([user(withDirective("one two three four", { text: "five six", usage }))], { tenantId, body: { model: "mock-model" } });
      const u = sane(completionOf(reply).usage);
      expect(u.total_tokens).toBeGreaterThan(0);
      expect(await eventually(() => tokensToday(tenantId), (n) => n !== 0)).toBe(u.total_tokens);
    });

    it(`${name}: a stream books and sends our estimate instead`, async () => {
      const tenantId = await newTenant();
      const body = { model: "mock-model", stream: true, stream_options: { include_usage: true } };
      const text = await streamText(await chat([user(withDirective("one two three four", { text: "five six", usage }))], { tenantId, body }));
      const chunks = text.split("\n\n").filter((b) => b.startsWith("data: {")).map((b) => JSON.parse(b.slice(6)) as { usage?: Usage });
      const u = sane(chunks.at(-1)!.usage);
      expect(await eventually(() => tokensToday(tenantId), (n) => n !== 0)).toBe(u.total_tokens);
    });
  }
});

describe("cio/auto usage from a broken upstream", () => {
  for (const [name, usage] of Object.entries(BROKEN)) {
    it(`${name}: the answer books and shows our estimate instead`, async () => {
      const tenantId = await newTenant();
      const reply = await chat([user(withDirective("one two three four", { text: "five six", usage }))], { tenantId, settings: OPENAI });
      const u = sane(completionOf(reply).usage);
      expect(u.total_tokens).toBeGreaterThan(0);
      expect(await eventually(() => tokensToday(tenantId), (n) => n !== 0)).toBe(u.total_tokens);
    });
  }
});
