/**
 * An expression's work, not only the size of what it builds, is bounded: JMESPath runs synchronously, so
 * neither the call's deadline nor the orchestrator's timeout can stop one that takes minutes, and every
 * other request in the isolate waits behind it.
 */
import { createExecutionContext, env } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { describe, expect, inject, it } from "vitest";
import { defaultTool, expectFail, expectOk, toolInput } from "../../../../test/support/tools/tool-call.js";
import HttpJsonTool from "../src/index.js";
import type { Env } from "../src/settings.js";

const tool = defaultTool(exports);
const base = inject("upstreamUrl");
const prices = () => `${base}/api/v3/simple/price?ids=bitcoin,ethereum`;
const toolWith = (overrides: Partial<Env>) => new HttpJsonTool(createExecutionContext(), { ...(env as Env), ...overrides });

/** Evaluates 4^levels filters while every value stays a few copies of the document; 12 characters a level. */
const nested = (levels: number) => "[@,@,@,@]" + "[?[@,@,@,@]".repeat(levels) + "[?`true`]" + "]".repeat(levels) + " | length(@)";

describe("expressions whose work outgrows their values", () => {
  it.each([10, 80])("refuses %i nested filters (4^n evaluations) at once, not long after the deadline", async (levels) => {
    const expression = nested(levels);
    expect(expression.length).toBeLessThanOrEqual(1_000);
    const started = Date.now();
    const e = expectFail(await tool.execute(toolInput({ url: prices(), expression }, 2_000)));
    expect(e).toMatchObject({ code: "expression_too_costly", retryable: false });
    expect(e.message).toContain("more than 2000000 steps");
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  // A handful of visits per element, but each writes the whole 200,000-character document again: counted
  // by visits alone that is 200,000 × 200,000 characters written, long after the deadline.
  it("refuses an expression that writes the whole document again for each element", async () => {
    const started = Date.now();
    const expression = "split(pad, '') | [?to_string($) != ''] | length(@)";
    const r = await toolWith({ HTTP_JSON_MAX_BYTES: "300000" }).execute(toolInput({ url: `${base}/api/big.json`, expression }, 2_000));
    expect(expectFail(r)).toMatchObject({ code: "expression_too_costly", retryable: false });
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it("still filters, reshapes and writes out a whole document of the size limit", async () => {
    const big = toolWith({ HTTP_JSON_MAX_BYTES: "300000" });
    const url = `${base}/api/big.json`;
    const chars = expectOk(await big.execute(toolInput({ url, expression: "length(split(pad, '')[?@ == 'x'])" })));
    expect(chars.content).toBe("200000");
    const text = expectOk(await big.execute(toolInput({ url, expression: "length(to_string(@)) > length(pad)" })));
    expect(text.content).toBe("true");
  });

  it("takes its budget from HTTP_JSON_MAX_STEPS", async () => {
    const small = toolWith({ HTTP_JSON_MAX_STEPS: "20" });
    expect(expectOk(await small.execute(toolInput({ url: prices(), expression: "bitcoin.usd" }))).content).toBe("96025");
    const e = expectFail(await small.execute(toolInput({ url: prices(), expression: "[@, @, @, @][*].*.usd" })));
    expect(e).toMatchObject({ code: "expression_too_costly", message: expect.stringContaining("more than 20 steps") });
  });
});
