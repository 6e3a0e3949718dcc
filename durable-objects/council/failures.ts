/**
 * Steps that keep failing. A step that throws (D1 refusing a write, say) or leaves its session notice unsent
 * is tried again, backing off; after CIO_COUNCIL_STEP_ATTEMPTS in a row it is given up, so that no council
 * retries for ever: a running one fails, visibly, and a finished one drops what it still owed.
 */
import { ApiError } from "../../lib/errors.js";
import type { CouncilFailureCode, Position } from "../../lib/protocol/council.js";
import { keepOwed } from "./events.js";
import type { CouncilSettings } from "./settings.js";
import { isSettled, type CouncilState } from "./state.js";

/**
 * What an error says, as the council keeps it: its message. `String(err)` kept the class too, and an answer that
 * quoted the council's error told its client "ApiError: The model upstream failed…".
 */
export const reasonOf = (err: unknown) => (err instanceof Error ? err.message : String(err)).slice(0, 500);

/** An error's code, kept beside its reason so that why a council failed can be told to a machine. */
export const codeOf = (err: unknown): string | undefined => (err instanceof ApiError && err.code ? err.code : undefined);

/**
 * Why no assistant could answer: the tenant's calls were refused (suspended outranks a spent budget, which would
 * pass) when that kept any of them from answering, else the models failed.
 */
export function failureCause(positions: Position[]): CouncilFailureCode {
  const codes = new Set(positions.map((p) => p.error_code));
  if (codes.has("tenant_suspended")) return "tenant_suspended";
  return codes.has("budget_exceeded") ? "budget_exceeded" : "council_failed";
}

/** The wait before the next try after `failures` failed steps in a row. */
export const retryDelay = (settings: CouncilSettings, failures: number) => settings.CIO_COUNCIL_RETRY_DELAY_MS * 2 ** (failures - 1);

/** Gives up the failing step; the caller records and saves the state. */
export function giveUp(s: CouncilState, failures: number, err: unknown) {
  const why = reasonOf(err);
  if (s.status === "running") {
    keepOwed(s); // a round's notice not yet out goes before the failure's
    s.status = "failed";
    s.error = `round ${s.round} could not be completed (${failures} tries): ${why}`;
    s.errorCode = "council_failed";
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
