import { describe, expect, it } from "vitest";
import { fillArgs } from "../../src/providers/builtin/fill-args.js";
import { bm25, tokens } from "../../src/providers/builtin/rank.js";

const TA = {
  type: "object",
  properties: {
    indicator: { type: "string", enum: ["rsi", "macd", "bollinger", "ema", "sma", "williams-r"] },
    period: { type: "integer", minimum: 2, maximum: 500 },
    closes: { type: "array", items: { type: "number" } },
    symbol: { type: "string" },
    interval: { type: "string", enum: ["1h", "4h", "1d"] },
  },
  required: ["indicator"],
};

describe("builtin planner: arguments from the request, guided by the schema", () => {
  it("fills enum, period and the list of prices from plain language", () => {
    expect(fillArgs(TA, "Compute the RSI(14) of these closes: 44, 44.3, 44.1, 43.6")).toEqual({ indicator: "rsi", period: 14, closes: [44, 44.3, 44.1, 43.6] });
    expect(fillArgs(TA, "Williams %R with period 10 for BTCUSDT on the 4h chart")).toEqual({ indicator: "williams-r", period: 10, symbol: "BTCUSDT", interval: "4h" });
    expect(fillArgs(TA, "20-day SMA of ETH/USDT")).toEqual({ indicator: "sma", period: 20, symbol: "ETH/USDT" });
  });

  it("reads thousands separators in a spaced list as part of the number, and commas without spaces as separators", () => {
    expect(fillArgs(TA, "3-period SMA of 1,250.50, 1,262.75, 1,270.00")).toEqual({ indicator: "sma", period: 3, closes: [1250.5, 1262.75, 1270] });
    expect(fillArgs(TA, "SMA of 12,345 12,400 12,512")).toMatchObject({ closes: [12345, 12400, 12512] });
    expect(fillArgs(TA, "SMA of 100,200,300")).toMatchObject({ closes: [100, 200, 300] });
  });

  it("leaves out what the text does not say, and gives up when a required argument is missing", () => {
    expect(fillArgs(TA, "what is the weather")).toBeNull();
    expect(fillArgs(TA, "MACD please")).toEqual({ indicator: "macd" });
    // Out of the schema's range: not filled, so the tool's default applies.
    expect(fillArgs(TA, "RSI(1) of 1 2 3")).toEqual({ indicator: "rsi", closes: [1, 2, 3] });
    // A required name that every object inherits (a tool's schema is the tenant's) is missing all the same.
    const inherited = { type: "object", properties: { constructor: { type: "string", enum: ["a"] } }, required: ["constructor"] };
    expect(fillArgs(inherited, "nothing to fill")).toBeNull();
  });

  it("takes a URL for a URL and the whole request for a free-text query", () => {
    const schema = { type: "object", properties: { url: { type: "string", format: "uri" }, query: { type: "string" } }, required: ["url"] };
    expect(fillArgs(schema, "Fetch https://api.example.com/v1/items?x=1, please")).toEqual({ url: "https://api.example.com/v1/items?x=1", query: "Fetch https://api.example.com/v1/items?x=1, please" });
  });
});

describe("builtin planner: BM25 over manifests", () => {
  it("ranks the tool whose words the request shares first, and scores unrelated tools zero", () => {
    const docs: [string, string][] = [
      ["technical-analysis", "technical analysis RSI MACD Bollinger indicators over prices"],
      ["web-search", "web search the internet for pages and news"],
      ["market-data", "market data price ticker klines candles from Binance"],
    ];
    const ranked = bm25("Compute the RSI of these prices", docs);
    expect(ranked[0]!.name).toBe("technical-analysis");
    expect(bm25("hello there", docs).every((s) => s.score === 0)).toBe(true);
    expect(tokens("The candles")).toEqual(["candle"]);
  });
});
