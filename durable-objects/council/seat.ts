/** Opening a council: the assistants take their seats with the weights their track records earned. */
import type { z } from "zod";
import type { CouncilCreateSchema } from "../../lib/protocol/council.js";
import type { CouncilEnv } from "./env.js";
import { assertCouncilModels, defaultCouncilModel } from "./model.js";
import { councilSettings } from "./settings.js";
import type { CouncilState } from "./state.js";
import { TRADING_ASSISTANTS, TRADING_OPTIONS, tradingQuestion } from "./trading/preset.js";
import { trackRecords, weightFactor } from "./weights.js";

interface Input {
  tenantId: string;
  councilId: string;
  requestId: string;
  body: z.output<typeof CouncilCreateSchema>;
}

export async function seat(env: CouncilEnv, input: Input, fingerprint: string): Promise<CouncilState> {
  const { body } = input;
  const settings = councilSettings(env);
  const trading = body.preset === "trading";
  const specs = body.assistants ?? TRADING_ASSISTANTS;
  assertCouncilModels(env, specs);
  const fallbackModel = specs.some((a) => !a.model) ? defaultCouncilModel(env) : "";
  const records = await trackRecords(env.DB, input.tenantId, specs.map((a) => a.id));
  const symbol = body.symbol?.toUpperCase() ?? null;
  return {
    tenantId: input.tenantId,
    id: input.councilId,
    requestId: input.requestId,
    question: trading ? tradingQuestion(symbol!, body.question) : body.question,
    context: body.context ?? null,
    preset: body.preset ?? null,
    symbol,
    options: trading ? TRADING_OPTIONS : (body.options ?? null),
    threshold: body.threshold,
    maxRounds: body.max_rounds,
    assistants: specs.map((a) => {
      const factor = weightFactor(records.get(a.id) ?? { correct: 0, total: 0 }, settings);
      const baseWeight = a.weight ?? 1;
      return { id: a.id, persona: a.persona, model: a.model ?? fallbackModel, baseWeight, weight: roundWeight(baseWeight * factor) };
    }),
    sessionId: body.session_id ?? null,
    status: "running",
    round: 1,
    rounds: [],
    attempts: {},
    decision: null,
    outcome: null,
    evidence: null,
    refPrice: null,
    paperOrder: null,
    pendingEvent: true,
    error: null,
    createdAt: Date.now(),
    version: 0,
    fingerprint,
  };
}

/**
 * Five significant digits, not four decimals: a small base weight times a low factor (0.001 × 0.01) rounded
 * to four decimals was 0, and a council of such assistants had no weight to reach consensus with.
 */
const roundWeight = (x: number) => Number(x.toPrecision(5));
