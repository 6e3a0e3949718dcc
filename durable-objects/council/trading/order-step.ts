/** The trading council's last step: its decision as a paper order, priced when it has to be. */
import { recordStatus } from "../audit.js";
import type { CouncilEnv } from "../env.js";
import type { CouncilSettings } from "../settings.js";
import type { CouncilState } from "../state.js";
import { placePaperOrder, rejectPaperOrder } from "./paper.js";
import { callTool, lastPrice } from "./tools.js";

/** The council object's save of the step's state (only over the state the step started from). */
export type Commit = (s: CouncilState, bump?: boolean) => Promise<void>;

/**
 * The decision's paper order. A BUY or SELL needs a price: when the council opened without one (the market
 * was unreachable) it is asked for again, backing off; after CIO_TRADING_PRICE_ATTEMPTS tries the order is
 * rejected, visibly, rather than retried every second for ever. A human's decision, which may come days
 * after the opening, is priced now (a HOLD too, as its outcome is measured from that price): it filled at the
 * opening price, and its outcome was measured from there. One that finds no price is not measured at all.
 * Returns the delay before the step is tried again, or null when the order is placed.
 */
export async function orderPaper(env: CouncilEnv, s: CouncilState, settings: CouncilSettings, commit: Commit): Promise<number | null> {
  const intent = { tenantId: s.tenantId, councilId: s.id, symbol: s.symbol!, side: s.decision!.option, price: s.refPrice ?? 0 };
  const trade = intent.side === "BUY" || intent.side === "SELL";
  const stale = s.decision!.source === "human" && !s.decisionPriced;
  if ((trade && !s.refPrice) || stale) {
    if (stale) s.refPrice = null;
    const caller = { tenantId: s.tenantId, requestId: s.requestId, timeoutMs: settings.CIO_COUNCIL_TOOL_TIMEOUT_MS };
    s.refPrice = lastPrice(await callTool(env.TOOL_MARKET_DATA, "market-data", { kind: "ticker", symbol: intent.symbol }, caller));
    if (!s.refPrice) {
      s.priceAttempts = (s.priceAttempts ?? 0) + 1;
      if (s.priceAttempts < settings.CIO_TRADING_PRICE_ATTEMPTS) {
        await commit(s, false);
        return settings.CIO_COUNCIL_RETRY_DELAY_MS * 2 ** s.priceAttempts;
      }
      // The row's price is the opening's: left there, the outcome of a decision made since was measured from it.
      await recordStatus(env.DB, s);
      intent.price = 0;
      s.paperOrder = trade
        ? { ...(await rejectPaperOrder(env.DB, intent, `no market price for ${intent.symbol} after ${s.priceAttempts} tries`)) }
        : { ...(await placePaperOrder(env.DB, intent, settings)) };
      await commit(s);
      return null;
    }
    // Saved before anything is written with it: a step redone after a superseded commit or an eviction
    // would price the decision again, and measure it from a price its order never filled at.
    s.decisionPriced = s.decision!.source === "human";
    await commit(s, false);
    // Only a round had written the price to D1; the outcome is measured from the row's, so it goes there too.
    await recordStatus(env.DB, s);
    intent.price = s.refPrice;
  }
  s.paperOrder = { ...(await placePaperOrder(env.DB, intent, settings)) };
  await commit(s);
  return null;
}
