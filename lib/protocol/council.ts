/**
 * Councils: several assistants answer the same question, see each other's positions, and vote. These
 * schemas are the one definition of every council message: the public HTTP bodies, the gateway →
 * orchestrator RPC and what CouncilDO keeps.
 */
import { z } from "zod";
import { CallContextSchema } from "./orchestrator.js";
import { PageQuerySchema } from "./page.js";

const Id = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/, "1-64 letters, digits, '_', '.', ':' or '-'");
/**
 * An option, whoever writes it: a fixed option, a model's free answer, the moderator's label for a group of
 * answers, a decision or an outcome. One limit, so whatever a council decides can be decided and reported.
 */
export const OptionSchema = z.string().trim().min(1).max(200);
/** Below this a weight means nothing beside the others (up to 100) and would round away to nothing. */
export const MIN_WEIGHT = 0.001;

export const AssistantSpecSchema = z.object({
  id: Id,
  /** Who the assistant is and how it judges; becomes its system prompt. */
  persona: z.string().trim().min(1).max(4_000),
  /** Model name at the configured provider; default: the council model from settings. */
  model: z.string().min(1).max(200).optional(),
  /** Base vote weight; the learned track-record factor multiplies it. */
  weight: z.number().min(MIN_WEIGHT, `a weight is at least ${MIN_WEIGHT}`).max(100).default(1),
});
export type AssistantSpec = z.infer<typeof AssistantSpecSchema>;

const PresetSchema = z.enum(["trading"]);
/**
 * The platform names its own councils so: the trading cron's `watch-<symbol>-<window>` (one per window, so a
 * caller who took that id first would have the cron find it "already open" and drop the window's move) and
 * a cio/council chat's `chat-<uuid>`.
 */
const RESERVED_ID = /^(watch|chat)-/i;

export const CouncilCreateSchema = z
  .object({
    /** Optional caller-chosen id (idempotent create); generated when absent. */
    id: Id.optional(),
    question: z.string().trim().min(1).max(8_000),
    context: z.string().max(32_000).optional(),
    /** `trading` fills in the five trading assistants and BUY/SELL/HOLD; `symbol` is then required. */
    preset: PresetSchema.optional(),
    symbol: z.string().regex(/^[A-Za-z0-9]{2,24}$/, "a trading pair such as BTCUSDT").optional(),
    assistants: z.array(AssistantSpecSchema).min(1).max(12).optional(),
    /** A fixed set of answers; absent = free answers that a moderator model groups after each round. */
    options: z.array(OptionSchema).min(2).max(12).optional(),
    /** Share of the total weight the leading option needs. */
    threshold: z.number().gt(0).max(1).default(0.5),
    max_rounds: z.number().int().min(1).max(10).default(3),
    /** A chat session to keep informed with `council` events. */
    session_id: z.string().min(1).max(128).optional(),
  })
  .superRefine((b, ctx) => {
    if (b.id && RESERVED_ID.test(b.id)) ctx.addIssue({ code: "custom", path: ["id"], message: "ids starting 'watch-' or 'chat-' name the platform's own councils (the trading cron's, cio/council chats')" });
    if (!b.preset && !b.assistants) ctx.addIssue({ code: "custom", path: ["assistants"], message: "give assistants or a preset" });
    if (b.preset === "trading" && !b.symbol) ctx.addIssue({ code: "custom", path: ["symbol"], message: "the trading preset needs a symbol" });
    refuseTradingOptions(b, ctx);
    const ids = (b.assistants ?? []).map((a) => a.id);
    if (new Set(ids).size !== ids.length) ctx.addIssue({ code: "custom", path: ["assistants"], message: "assistant ids must be unique" });
    const opts = (b.options ?? []).map((o) => o.toUpperCase());
    if (new Set(opts).size !== opts.length) ctx.addIssue({ code: "custom", path: ["options"], message: "options must be unique" });
  });
export type CouncilCreate = z.input<typeof CouncilCreateSchema>;

/**
 * The trading preset decides BUY, SELL or HOLD: its paper order and its measured outcome know nothing else, so
 * other options would leave the decision unmeasurable.
 */
function refuseTradingOptions(b: { preset?: string; options?: string[] }, ctx: z.RefinementCtx) {
  if (b.preset === "trading" && b.options) ctx.addIssue({ code: "custom", path: ["options"], message: "the trading preset has its own options (BUY, SELL, HOLD)" });
}

/** What an assistant answers in one round (the model's JSON). */
export const AnswerSchema = z.object({
  option: OptionSchema,
  confidence: z.coerce.number().min(0).max(1),
  reasoning: z.string().max(4_000).default(""),
});
export type Answer = z.infer<typeof AnswerSchema>;

export const PositionSchema = AnswerSchema.extend({
  assistant: z.string(),
  round: z.number().int().positive(),
  /** The assistant's effective weight in this council. */
  weight: z.number().nonnegative(),
  /** Set when the assistant could not answer (model failed after retries): it abstains. */
  error: z.string().optional(),
  /** The code of that error, when it had one (`upstream_error`; `budget_exceeded` or `tenant_suspended` for a refused call). */
  error_code: z.string().optional(),
});
export type Position = z.infer<typeof PositionSchema>;

export const RoundResultSchema = z.object({
  round: z.number().int().positive(),
  /** Weighted votes per option, abstentions excluded. */
  tally: z.record(z.string(), z.number()),
  leader: z.string().nullable(),
  /** The leader's share of the total weight of all assistants, unrounded: the number compared with the threshold. */
  share: z.number(),
  consensus: z.boolean(),
  positions: z.array(PositionSchema),
});
export type RoundResult = z.infer<typeof RoundResultSchema>;

export const CouncilStatusSchema = z.enum(["running", "consensus", "awaiting_human", "decided", "failed"]);
export type CouncilStatus = z.infer<typeof CouncilStatusSchema>;

/**
 * Why a council failed, for a machine: its assistants' calls were refused (the tenant's daily token budget is
 * spent, or the tenant is suspended), else `council_failed` (the models failed, or a step kept failing).
 */
export const CouncilFailureCodeSchema = z.enum(["council_failed", "budget_exceeded", "tenant_suspended"]);
export type CouncilFailureCode = z.infer<typeof CouncilFailureCodeSchema>;

export const CouncilDecisionSchema = z.object({
  option: OptionSchema,
  source: z.enum(["consensus", "human"]),
  note: z.string().max(2_000).optional(),
  at: z.number(),
});

export const CouncilViewSchema = z.object({
  id: z.string(),
  object: z.literal("council"),
  status: CouncilStatusSchema,
  question: z.string(),
  context: z.string().nullable(),
  preset: z.string().nullable(),
  symbol: z.string().nullable(),
  options: z.array(z.string()).nullable(),
  threshold: z.number(),
  max_rounds: z.number(),
  current_round: z.number(),
  assistants: z.array(z.object({ id: z.string(), model: z.string(), weight: z.number(), base_weight: z.number() })),
  rounds: z.array(RoundResultSchema),
  decision: CouncilDecisionSchema.nullable(),
  outcome: z.object({ option: z.string(), at: z.number(), source: z.enum(["reported", "measured"]) }).nullable(),
  paper_order: z.record(z.string(), z.unknown()).nullable().optional(),
  error: z.string().nullable(),
  /** Set when the council failed: why, for a machine (`error` says it for a person). */
  error_code: CouncilFailureCodeSchema.nullable(),
  created_at: z.number(),
  version: z.number(),
});
export type CouncilView = z.infer<typeof CouncilViewSchema>;

/** GET /v1/councils: a page of the tenant's councils, newest first, optionally of one status or preset. */
export const ListCouncilsQuerySchema = PageQuerySchema.extend({
  status: CouncilStatusSchema.optional(),
  preset: PresetSchema.optional(),
});

/** A council in a list: what it asked and where it stands; GET /v1/councils/{id} has its rounds and votes. */
export const CouncilSummarySchema = CouncilViewSchema.pick({
  id: true,
  object: true,
  status: true,
  question: true,
  preset: true,
  symbol: true,
  options: true,
  outcome: true,
  created_at: true,
}).extend({
  decision: CouncilDecisionSchema.omit({ note: true }).nullable(),
  session_id: z.string().nullable(),
});
export type CouncilSummary = z.infer<typeof CouncilSummarySchema>;

export const DecisionBodySchema = z.object({ option: OptionSchema, note: z.string().max(2_000).optional() });
export const OutcomeBodySchema = z.object({
  /** The option that proved right. */
  option: OptionSchema,
});

/** The gateway → orchestrator RPC for councils: one call shape, one action per request. */
export const CouncilCallSchema = z.discriminatedUnion("action", [
  CallContextSchema.extend({ action: z.literal("create"), body: CouncilCreateSchema }),
  CallContextSchema.extend({ action: z.literal("get"), councilId: z.string().min(1) }),
  CallContextSchema.extend({ action: z.literal("decide"), councilId: z.string().min(1), body: DecisionBodySchema }),
  CallContextSchema.extend({ action: z.literal("outcome"), councilId: z.string().min(1), body: OutcomeBodySchema }),
]);
export type CouncilCall = z.input<typeof CouncilCallSchema>;

/**
 * `cio/council` as a chat model: the last user message is the question, earlier messages its context.
 * The optional `council` field of the chat request (a CIO extension) shapes the council.
 */
export const ChatCouncilOptionsSchema = z
  .object({
    assistants: z.array(AssistantSpecSchema).min(1).max(12).optional(),
    options: z.array(OptionSchema).min(2).max(12).optional(),
    threshold: z.number().gt(0).max(1).optional(),
    max_rounds: z.number().int().min(1).max(10).optional(),
    preset: z.enum(["trading"]).optional(),
    symbol: z.string().regex(/^[A-Za-z0-9]{2,24}$/).optional(),
  })
  .strict()
  .superRefine(refuseTradingOptions);
