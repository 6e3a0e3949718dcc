/**
 * What a CouncilDO keeps in its storage. The state row is rewritten at every step; each assistant's
 * position of the running round is its own key, written the moment it arrives, so a resumed round only
 * asks the assistants that had not answered yet.
 */
import type { CouncilEvent } from "../../lib/protocol/session-events.js";
import type { CouncilFailureCode, CouncilStatus, CouncilView, Position, RoundResult } from "../../lib/protocol/council.js";

export interface SeatedAssistant {
  id: string;
  persona: string;
  model: string;
  baseWeight: number;
  /** baseWeight × the learned track-record factor, fixed when the council opened. */
  weight: number;
}

export interface CouncilState {
  tenantId: string;
  id: string;
  requestId: string;
  question: string;
  context: string | null;
  preset: "trading" | null;
  symbol: string | null;
  /** Fixed options, or null for free answers grouped by the moderator after each round. */
  options: string[] | null;
  threshold: number;
  maxRounds: number;
  assistants: SeatedAssistant[];
  sessionId: string | null;
  status: CouncilStatus;
  round: number;
  rounds: RoundResult[];
  /** Failed attempts per assistant in the running round. */
  attempts: Record<string, number>;
  decision: { option: string; source: "consensus" | "human"; note?: string; at: number } | null;
  outcome: { option: string; at: number; source: "reported" | "measured" } | null;
  /** Trading: what each assistant's tool found (gathered once), the price when the council opened. */
  evidence: Record<string, string> | null;
  refPrice: number | null;
  paperOrder: Record<string, unknown> | null;
  /** Trading: failed tries to get a price for the paper order, when none was had at the start. */
  priceAttempts?: number;
  /** A human's decision is priced when it is made, not at the council's opening (days before, maybe). */
  decisionPriced?: boolean;
  /** Side effects still owed after the last step: the session notice of the last status. */
  pendingEvent: boolean;
  /** Notices of earlier steps the session has not taken yet, in order, kept as they were (events.ts `keepOwed`). */
  owed?: CouncilEvent[];
  /** Steps that failed in a row (a throw, or a notice still owed); any change of the state clears it. */
  stepFailures?: number;
  error: string | null;
  /** Why a failed council failed, for a machine; a state saved before it was kept reads `council_failed`. */
  errorCode?: CouncilFailureCode;
  createdAt: number;
  /** Bumped at every change, so waiters (the `cio/council` stream) know something happened. */
  version: number;
  /** Fingerprint of the create request, so a repeated create is recognised and a different one refused. */
  fingerprint: string;
}

export const positionKey = (round: number, assistant: string) => `pos:${round}:${assistant}`;

/**
 * A per-assistant entry of the state (`attempts`, `evidence`). Assistant ids are the caller's: read as `r[id]`,
 * "constructor" or "toString" found Object.prototype's function (an assistant that abstained at its first
 * failed answer, a trading one whose evidence was a function's source).
 */
export const ownEntry = <T>(r: Record<string, T>, id: string): T | undefined => (Object.hasOwn(r, id) ? r[id] : undefined);

export const isSettled = (s: CouncilState) => s.status === "consensus" || s.status === "decided";

export function viewOf(s: CouncilState): CouncilView {
  return {
    id: s.id,
    object: "council",
    status: s.status,
    question: s.question,
    context: s.context,
    preset: s.preset,
    symbol: s.symbol,
    options: s.options,
    threshold: s.threshold,
    max_rounds: s.maxRounds,
    current_round: s.round,
    assistants: s.assistants.map((a) => ({ id: a.id, model: a.model, weight: a.weight, base_weight: a.baseWeight })),
    rounds: s.rounds,
    decision: s.decision,
    outcome: s.outcome,
    paper_order: s.paperOrder,
    error: s.error,
    error_code: s.status === "failed" ? (s.errorCode ?? "council_failed") : null,
    created_at: s.createdAt,
    version: s.version,
  };
}

export type { Position };
