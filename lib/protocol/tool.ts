/**
 * The tool contract. Every tool — a service-bound Worker or an HTTPS service in any language — describes
 * itself with a manifest and answers execute(). These schemas are the single definition of both.
 */
import { z } from "zod";

/**
 * The most tokens one tool call may declare or report: a bound, so a broken tool cannot spend a tenant's
 * budget in one answer (its answer then breaks the contract and is refused as tool_bad_response).
 */
export const MAX_TOOL_CALL_TOKENS = 10_000_000;
const ToolTokensSchema = z.number().int().nonnegative().max(MAX_TOOL_CALL_TOKENS);

export const ToolNameSchema = z.string().regex(/^[a-z][a-z0-9_-]{0,63}$/, "tool names are lowercase, 1-64 chars");

export const ToolManifestSchema = z.object({
  name: ToolNameSchema,
  description: z.string().min(1),
  /** JSON Schema (draft 2020-12 subset) of the arguments object. */
  parameters: z.record(z.string(), z.unknown()),
  timeoutMs: z.number().int().positive().max(300_000),
  version: z.string().min(1),
  /** Example requests in plain language; the builtin planner ranks tools against these too. */
  examples: z.array(z.string()).optional(),
  /**
   * Whether running the same call twice does no harm (a read, a search, a computation). Only such a tool
   * is called again when the connection failed after the request went out, since the first call may have
   * run; absent means no (an order, a paid image generation).
   */
  idempotent: z.boolean().optional(),
  /**
   * About what one call spends on models the tenant pays for (media: a picture). Before such a call the
   * dispatcher holds these tokens against the tenant's daily budget, and refuses the call (budget_exceeded)
   * when the budget is spent; what it used is booked from its result's `usage`. Absent: calls are not held.
   */
  spends: z.object({ tokens: ToolTokensSchema }).optional(),
});
export type ToolManifest = z.infer<typeof ToolManifestSchema>;

export const ToolInputSchema = z.object({
  args: z.record(z.string(), z.unknown()),
  tenantId: z.string(),
  requestId: z.string(),
  /** Epoch milliseconds after which the caller no longer waits for the result. */
  deadline: z.number().int(),
});
export type ToolInput = z.infer<typeof ToolInputSchema>;

/**
 * A failure's code is an identifier, not text: it is written into the model's context ("failed (code)")
 * beside the message, which alone is cut to the round's share, and into tool_calls.error_code.
 */
export const ToolErrorCodeSchema = z.string().regex(/^[a-z0-9_.-]{1,64}$/i, "error codes are 1-64 letters, digits, '_', '.' or '-'");

export const ToolErrorSchema = z.object({
  code: ToolErrorCodeSchema,
  message: z.string(),
  retryable: z.boolean(),
  /** The wait the tool's upstream asked for (Retry-After): a retry waits that long (lib/tools/retry-after.ts). */
  retryAfterMs: z.number().int().nonnegative().optional(),
});
export type ToolError = z.infer<typeof ToolErrorSchema>;

/**
 * What a call spent on models the tenant pays for, as the tool counted it (ToolContext.spent): the dispatcher
 * books it to the tenant's usage and daily budget under `model`. It can only add: the total booked is
 * prompt_tokens + completion_tokens (a total_tokens beside them is not read), and a tool that reports
 * nothing books nothing.
 */
export const ToolUsageSchema = z.object({
  model: z.string().min(1).max(256),
  prompt_tokens: ToolTokensSchema,
  completion_tokens: ToolTokensSchema,
});
export type ToolUsage = z.infer<typeof ToolUsageSchema>;

/** A failure may carry usage too: the model ran (and bills) before the failure (a picture R2 would not store). */
export const ToolResultSchema = z.discriminatedUnion("ok", [
  z.object({ ok: z.literal(true), content: z.string(), data: z.unknown().optional(), usage: ToolUsageSchema.optional() }),
  z.object({ ok: z.literal(false), error: ToolErrorSchema, usage: ToolUsageSchema.optional() }),
]);
export type ToolResult = z.infer<typeof ToolResultSchema>;

/** Two spendings of one call (or of its attempts) as one, under the later one's model. */
export function addToolUsage(a: ToolUsage | undefined, b: ToolUsage): ToolUsage {
  if (!a) return b;
  return { model: b.model, prompt_tokens: a.prompt_tokens + b.prompt_tokens, completion_tokens: a.completion_tokens + b.completion_tokens };
}

export const toolOk = (content: string, data?: unknown): ToolResult => ({ ok: true, content, data });
export const toolFail = (code: string, message: string, retryable = false): ToolResult => ({
  ok: false,
  error: { code, message, retryable },
});

/** HTTPS transport: `POST <url>/execute`, body = ToolInput JSON, signed over `${timestamp}.${body}`. */
export const TOOL_SIGNATURE_HEADER = "x-cio-signature";
export const TOOL_TIMESTAMP_HEADER = "x-cio-timestamp";

/** A tool Worker as seen through a service binding (RPC to its WorkerEntrypoint). */
export interface ToolService {
  manifest(): Promise<ToolManifest>;
  execute(input: ToolInput): Promise<ToolResult>;
}
