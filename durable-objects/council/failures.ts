/**
 * Steps that keep failing. A step that throws (D1 refusing a write, say) or leaves its session notice unsent
 * is tried again, backing off; after CIO_COUNCIL_STEP_ATTEMPTS in a row it is given up, so that no council
 * retries for ever: a running one fails, visibly, and a finished one drops what it still owed.
 */
import { keepOwed } from "./events.js";
import type { CouncilSettings } from "./settings.js";
import { isSettled, type CouncilState } from "./state.js";

/** The wait before the next try after `failures` failed steps in a row. */
export const retryDelay = (settings: CouncilSettings, failures: number) => settings.CIO_COUNCIL_RETRY_DELAY_MS * 2 ** (failures - 1);

/** Gives up the failing step; the caller records and saves the state. */
export function giveUp(s: CouncilState, failures: number, err: unknown) {
  const why = (err instanceof Error ? err.message : String(err)).slice(0, 500);
  if (s.status === "running") {
    keepOwed(s); // a round's notice not yet out goes before the failure's
    s.status = "failed";
    s.error = `round ${s.round} could not be completed (${failures} tries): ${why}`;
    s.pendingEvent = true; // the session and the followers hear of the failure
    return;
  }
  s.pendingEvent = false;
  s.owed = [];
  // The decision stands; its paper order says why there is none instead of being retried for ever.
  if (s.preset === "trading" && isSettled(s) && !s.paperOrder) {
    s.paperOrder = { council_id: s.id, symbol: s.symbol, side: s.decision!.option, qty: 0, price: s.refPrice ?? 0, status: "failed", reason: `not placed (${failures} tries): ${why}`, realized_pnl: 0 };
  }
}
