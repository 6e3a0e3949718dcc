/**
 * Two indicators assembled from trading-signals' own parts where its versions differ from the textbook:
 * its EMA starts from the first price, and its DX divides 0 by 0 on candles that do not move.
 */
import { DX, EMA, SMA, WSMA, type HighLowClose } from "trading-signals";

/**
 * EMA seeded with the SMA of its first `interval` prices (Appel, StockCharts, TA-Lib), not with the first
 * price: EMA(20) of 1..20 is 10.5, not 11.92. The seed is handed to the library's EMA `interval` times, so
 * it starts from exactly that value and counts as stable; every later price is the library's usual step.
 * Being an EMA, it also goes into the library's MACD, for all three of its averages.
 */
export class SmaSeededEMA extends EMA {
  readonly #seed: SMA;

  constructor(interval: number) {
    super(interval);
    this.#seed = new SMA(interval);
  }

  /** Before the seed is complete there is no EMA yet: NaN, which callers never read (isStable is false). */
  override update(price: number, replace: boolean): number {
    if (this.isStable) return super.update(price, replace);
    const seed = this.#seed.update(price, replace);
    if (seed === null) return NaN;
    let ema = seed;
    for (let i = 0; i < this.interval; i++) ema = super.update(seed, false);
    return ema;
  }
}

/**
 * DX whose 0/0 is 0. With an ATR of 0 (no range, no gaps) the library divides 0 by 0, and the NaN then
 * stays in ADX's running average for good, so ADX read NaN long after prices started to move. No movement
 * is no directional movement: +DI = -DI = DX = 0, as TA-Lib has it.
 */
class FlatSafeDX extends DX {
  override update(candle: HighLowClose<number>, replace: boolean): number | null {
    const dx = super.update(candle, replace);
    if (dx === null || !Number.isNaN(dx)) return dx;
    this.pdi = 0;
    this.mdi = 0;
    this.rollbackLastResult();
    return this.setResult(0, replace);
  }
}

/** The library's ADX (DX smoothed by Wilder's average), over FlatSafeDX; its ADX class builds its own DX. */
export class FlatSafeADX {
  readonly #dx: FlatSafeDX;
  readonly #smoothed: WSMA;

  constructor(interval: number) {
    this.#dx = new FlatSafeDX(interval);
    this.#smoothed = new WSMA(interval);
  }

  get pdi(): number | undefined {
    return this.#dx.pdi;
  }

  get mdi(): number | undefined {
    return this.#dx.mdi;
  }

  get isStable(): boolean {
    return this.#smoothed.isStable;
  }

  add(candle: HighLowClose<number>): number | null {
    const dx = this.#dx.add(candle);
    if (dx !== null) this.#smoothed.add(dx);
    return this.#smoothed.isStable ? this.#smoothed.getResultOrThrow() : null;
  }
}
