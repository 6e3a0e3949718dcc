/**
 * Binance public REST: klines and the 24h ticker, parsed from Binance's exact wire shapes, with its error
 * statuses mapped to retryable or not (https://developers.binance.com/docs/binance-spot-api-docs/rest-api).
 */
import { z } from "zod";
import { retryDelayMs } from "../../../../lib/http/retry-delay.js";
import { describeWait } from "../../../../lib/tools/retry-after.js";
import { ToolFailure } from "../../../../lib/tools/tool-entrypoint.js";
import { binanceHold } from "./rate-limit-hold.js";

export const INTERVALS = [
  "1s", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w", "1M",
] as const;
export type Interval = (typeof INTERVALS)[number];

/** A kline row: [openTime, open, high, low, close, volume, closeTime, quoteVolume, trades, ...]. */
const KlineRowSchema = z.tuple(
  [z.number(), z.string(), z.string(), z.string(), z.string(), z.string(), z.number(), z.string(), z.number()],
  z.unknown(),
);

export interface Candle {
  openTime: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  closeTime: number;
  trades: number;
}

const TickerSchema = z.object({
  symbol: z.string(),
  priceChange: z.string(),
  priceChangePercent: z.string(),
  weightedAvgPrice: z.string(),
  lastPrice: z.string(),
  openPrice: z.string(),
  highPrice: z.string(),
  lowPrice: z.string(),
  volume: z.string(),
  quoteVolume: z.string(),
  openTime: z.number(),
  closeTime: z.number(),
  count: z.number(),
});

export interface Ticker {
  symbol: string;
  lastPrice: number;
  priceChange: number;
  priceChangePercent: number;
  weightedAvgPrice: number;
  openPrice: number;
  highPrice: number;
  lowPrice: number;
  volume: number;
  quoteVolume: number;
  openTime: number;
  closeTime: number;
  trades: number;
}

const BinanceErrorSchema = z.object({ code: z.number(), msg: z.string() });

export class BinanceClient {
  constructor(
    private readonly baseUrl: string,
    private readonly signal: AbortSignal,
  ) {}

  async klines(symbol: string, interval: Interval, limit: number): Promise<Candle[]> {
    const rows = await this.get("/api/v3/klines", { symbol, interval, limit: String(limit) });
    return z.array(KlineRowSchema).parse(rows).map(toCandle);
  }

  async ticker24h(symbol: string): Promise<Ticker> {
    const t = TickerSchema.parse(await this.get("/api/v3/ticker/24hr", { symbol }));
    return {
      symbol: t.symbol,
      lastPrice: Number(t.lastPrice),
      priceChange: Number(t.priceChange),
      priceChangePercent: Number(t.priceChangePercent),
      weightedAvgPrice: Number(t.weightedAvgPrice),
      openPrice: Number(t.openPrice),
      highPrice: Number(t.highPrice),
      lowPrice: Number(t.lowPrice),
      volume: Number(t.volume),
      quoteVolume: Number(t.quoteVolume),
      openTime: t.openTime,
      closeTime: t.closeTime,
      trades: t.count,
    };
  }

  private async get(path: string, query: Record<string, string>): Promise<unknown> {
    const held = binanceHold.refusal();
    if (held) throw held;
    const url = new URL(path, this.baseUrl);
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
    const res = await fetch(url, { signal: this.signal, headers: { accept: "application/json" } });
    if (!res.ok) throw await failureFrom(res, this.baseUrl);
    return res.json();
  }
}

function toCandle(row: z.infer<typeof KlineRowSchema>): Candle {
  const [openTime, open, high, low, close, volume, closeTime, , trades] = row;
  return {
    openTime,
    open: Number(open),
    high: Number(high),
    low: Number(low),
    close: Number(close),
    volume: Number(volume),
    closeTime,
    trades,
  };
}

/**
 * 429 is a rate limit and 418 the automatic IP ban Binance imposes on clients that keep calling after
 * 429s. Neither is retryable: a caller's retries come within a second, Retry-After says seconds to days,
 * and each early retry is what turns a 429 into a ban, or lengthens one. The message says when to try
 * again, and binanceHold keeps every call from Binance until then. 451 (a restricted location) and 403 (its web application firewall, or a regional block in front
 * of it) refuse this server whatever it asks: the tool is unusable from here, which its breaker should count
 * (not_configured), and the way out is Binance's market-data-only endpoint. 5xx are Binance-side. Other
 * 4xx are our request's fault, e.g. -1121 "Invalid symbol.", and repeating them cannot help.
 */
async function failureFrom(res: Response, baseUrl: string): Promise<ToolFailure> {
  const parsed = BinanceErrorSchema.safeParse(await res.json().catch(() => null));
  const detail = parsed.success ? `${parsed.data.msg} (code ${parsed.data.code})` : `HTTP ${res.status}`;
  if (res.status === 451 || res.status === 403) return blocked(res.status, detail, baseUrl);
  if (res.status === 429 || res.status === 418) {
    const what = res.status === 418 ? "Binance has banned this IP for exceeding its rate limit" : "Binance rate limit";
    const after = retryDelayMs(res.headers);
    if (after === null) return new ToolFailure("rate_limited", `${what}: ${detail}`);
    binanceHold.hold(after, `${what}: ${detail}`);
    return new ToolFailure("rate_limited", `${what}: ${detail}; ${describeWait(after)}`, false, after);
  }
  if (res.status >= 500) return new ToolFailure("upstream_unavailable", `Binance failed: ${detail}`, true);
  if (parsed.success && parsed.data.code === -1121) {
    return new ToolFailure("unknown_symbol", `Binance does not list this symbol: ${detail}`);
  }
  return new ToolFailure("bad_request", `Binance rejected the request: ${detail}`);
}

/** Binance's public market data is also served from data-api.binance.vision, which these blocks do not cover. */
export const MARKET_DATA_ONLY_URL = "https://data-api.binance.vision";

function blocked(status: number, detail: string, baseUrl: string): ToolFailure {
  const why = status === 451 ? "from this server's location (restricted region)" : "at its firewall or a regional block";
  const hint = new URL(baseUrl).origin === MARKET_DATA_ONLY_URL
    ? ""
    : `; set BINANCE_BASE_URL to ${MARKET_DATA_ONLY_URL} (Binance's market-data-only endpoint) to reach it from here`;
  return new ToolFailure("not_configured", `Binance refuses requests ${why}: ${detail}${hint}`);
}
