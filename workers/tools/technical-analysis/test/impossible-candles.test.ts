/**
 * Candles given inline must be candles: low at most high, close and open between them. A model that swaps
 * fields, or sends open/high/low/close in another order, otherwise got a confident reading no oscillator
 * can give (Stochastic %K = 155.56 "(overbought)", Williams %R = +55.56) instead of the candle to fix.
 */
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { defaultTool, expectFail, expectOk, toolInput, validManifest } from "../../../../test/support/tools/tool-call.js";
import { parseArgs } from "../../../orchestrator/src/dispatcher/validate.js";
import { flatCandles, syntheticCandles } from "./reference.js";

const tool = defaultTool(exports);
/** Each close above its high: high and close swapped. */
const swapped = Array.from({ length: 20 }, (_, i) => ({ high: 10 + i, low: 5 + i, close: 20 + i }));

describe("impossible candles", () => {
  it.each(["stochastic", "williams-r"])("%s refuses candles whose close lies outside [low, high]", async (indicator) => {
    const e = expectFail(await tool.execute(toolInput({ indicator, candles: swapped })));
    expect(e).toMatchObject({ code: "invalid_arguments", retryable: false });
    expect(e.message).toContain("no candle can look like this: its close 20 is outside its low 5 and high 10");
    expect(e.message).toContain("candles[0]");
  });

  it("names the first impossible candle only", async () => {
    const candles = syntheticCandles(60);
    candles[7] = { ...candles[7]!, low: candles[7]!.high + 1 };
    candles[9] = { ...candles[9]!, close: -1 };
    const e = expectFail(await tool.execute(toolInput({ indicator: "adx", candles })));
    expect(e).toMatchObject({ code: "invalid_arguments" });
    expect(e.message).toMatch(/its low [\d.]+ is above its high [\d.]+[\s\S]*candles\[7\]/);
    expect(e.message).not.toContain("candles[9]");
  });

  it("refuses an open outside [low, high] when one is given", async () => {
    const candles = flatCandles(20).map((c, i) => (i === 4 ? { ...c, open: c.high + 0.5 } : c));
    const e = expectFail(await tool.execute(toolInput({ indicator: "cci", candles })));
    expect(e.message).toContain("its open");
    expect(e.message).toContain("candles[4]");
  });

  it("takes candles whose prices touch their bounds, and candles without an open", async () => {
    const candles = [{ high: 5, low: 5, close: 5 }, ...syntheticCandles(30), { open: 2, high: 3, low: 1, close: 3 }];
    expectOk(await tool.execute(toolInput({ indicator: "williams-r", candles })));
  });

  // The check is the tool's: JSON Schema cannot compare two fields, so the dispatcher passes such candles on.
  it("leaves the manifest's candle schema as loose as before, for the dispatcher's check", async () => {
    const m = await validManifest(tool);
    expect(parseArgs(m, JSON.stringify({ indicator: "stochastic", candles: swapped }))).toMatchObject({ ok: true });
  });
});
