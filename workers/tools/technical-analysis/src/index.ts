/**
 * technical-analysis: RSI, MACD, Bollinger Bands, EMA, SMA, Stochastic, Williams %R, CCI and ADX over
 * prices given inline or fetched through market-data. The answer states the number first, then a short
 * reading of it, so even the model-free planner can quote it.
 */
import { toolOk, type ToolResult } from "../../../../lib/protocol/tool.js";
import { ToolEntrypoint, ToolFailure, type ToolContext } from "../../../../lib/tools/tool-entrypoint.js";
import { TechnicalAnalysisArgs } from "./args.js";
import { INDICATOR_DEFS, type IndicatorDef, type PriceSeries, type Reading } from "./indicators.js";
import { paramsFrom, type Params } from "./params.js";
import { loadSeries, type Source, type ToolService } from "./series.js";

export interface Env {
  /** Service binding to cio-tool-market-data; optional, only needed when a symbol is given. */
  MARKET_DATA?: ToolService;
}

/** How many of the latest readings go back in `data.series` (enough for a sparkline, not a dump). */
const SERIES_TAIL = 10;

export default class TechnicalAnalysisTool extends ToolEntrypoint<Env, typeof TechnicalAnalysisArgs> {
  readonly args = TechnicalAnalysisArgs;
  readonly info = {
    name: "technical-analysis",
    description:
      "Technical indicators over a price series: RSI, MACD, Bollinger Bands, EMA, SMA, Stochastic, " +
      "Williams %R, CCI and ADX. Give closing prices or OHLCV candles inline, or a symbol and interval " +
      "to fetch candles from market data.",
    timeoutMs: 10_000,
    version: "1.0.0",
    examples: [
      "Compute the RSI(14) of these closes: 44.34, 44.09, 44.15, 43.61, 44.33",
      "What is the 14-period RSI of BTCUSDT on the 1h chart?",
      "MACD of ETHUSDT daily candles",
      "Bollinger Bands (20, 2) for these prices",
      "Calculate the 50-day simple moving average (SMA) of these closing prices",
      "Exponential moving average EMA 20 of BTCUSDT",
      "Stochastic oscillator and Williams %R for these OHLC candles",
      "Is SOLUSDT overbought? Check the CCI and RSI",
      "How strong is the BTCUSDT trend? ADX on 4h candles",
    ],
  };

  protected async run(args: TechnicalAnalysisArgs, ctx: ToolContext): Promise<ToolResult> {
    const def = INDICATOR_DEFS[args.indicator];
    const params = paramsFrom(args);
    const { series, source } = await loadSeries(args, this.env.MARKET_DATA, ctx);
    const readings = computeReadings(def, params, series);
    const latest = readings.at(-1);
    const lastClose = series.closes.at(-1);
    if (!latest || lastClose === undefined) throw insufficient(def, params, series);
    if (!defined(latest)) throw undefinedValue(def, params);
    const label = def.label(params);
    const content = `${label}${def.state(latest, lastClose)}, computed over ${describeSource(source, series)}.`;
    return toolOk(content, {
      indicator: args.indicator,
      label,
      params,
      value: latest,
      series: readings.slice(-SERIES_TAIL).map((r) => (r && defined(r) ? r : null)),
      inputs: series.closes.length,
      source,
    });
  }
}

function computeReadings(def: IndicatorDef, params: Params, series: PriceSeries): Array<Reading | null> {
  if (def.needs === "candles" && !series.candles) {
    throw new ToolFailure(
      "needs_candles",
      "this indicator needs high, low and close: give candles or a symbol instead of closes",
    );
  }
  const readings = def.compute(params, series);
  const min = def.minInputs(params);
  // The library answers some indicators early (MACD before its signal line settles); hide those.
  return readings.map((r, i) => (i + 1 < min ? null : r));
}

function insufficient(def: IndicatorDef, params: Params, series: PriceSeries): ToolFailure {
  const need = def.minInputs(params);
  const unit = def.needs === "candles" ? "candles" : "prices";
  return new ToolFailure(
    "insufficient_data",
    `${def.label(params)} needs at least ${need} ${unit}; got ${series.closes.length}`,
  );
}

/** NaN or ±Infinity is no reading: it would print as "n/a", go out as null and read as a zone or trend. */
const defined = (r: Reading) => Object.values(r).every(Number.isFinite);

function undefinedValue(def: IndicatorDef, params: Params): ToolFailure {
  return new ToolFailure(
    "undefined_value",
    `${def.label(params)} is undefined for the latest prices: it divides by their range or deviation, which is 0 (flat prices)`,
  );
}

function describeSource(source: Source, series: PriceSeries): string {
  const n = series.closes.length;
  if (source.kind === "market-data") return `the last ${n} ${source.interval} candles of ${source.symbol}`;
  return `${n} ${source.kind === "candles" ? "candles" : "closes"}`;
}
