/**
 * What a tool call spends on models the tenant pays for (the media tool's pictures and transcripts), booked
 * to the tenant's usage and daily budget as an image task's is (lib/usage-booking.ts): the chat books only its
 * own model rounds. A tool whose manifest declares `spends` has that many tokens held against the budget
 * while its call runs, and its call is refused (budget_exceeded) when the budget is spent, so the calls of a
 * chat, or of chats at once, cannot draw past it. Whatever a call reports as `usage` is booked under its
 * model, held or not. The report only adds: its total is recounted from its parts, and it never replaces
 * the chat's own usage.
 */
import { BUDGET_EXHAUSTED } from "../../../../lib/errors.js";
import type { Usage } from "../../../../lib/protocol/index.js";
import type { ToolError, ToolUsage } from "../../../../lib/protocol/tool.js";
import { beginSpending, bookUsage, HOLD_MARGIN_MS } from "../../../../lib/usage-booking.js";
import type { RegisteredTool } from "../registry/index.js";
import type { DispatchContext } from "./index.js";

export interface CallSpending {
  /** Books what the call reported spending (all its attempts), if anything, and gives its hold back. */
  end(usage: ToolUsage | undefined): Promise<void>;
}

/**
 * Begins a call's spending, or answers why the call may not run: the tenant's budget is spent, or could not
 * be checked (a tool that spends is not called unchecked). `runMs`: the longest the call may take.
 */
export async function beginCall(ctx: DispatchContext, tool: RegisteredTool, runMs: number): Promise<CallSpending | ToolError> {
  const what = `${tool.name} tool`;
  const declared = tool.manifest.spends;
  if (!declared) return { end: (u) => (u ? bookUsage(ctx.env.RATE_LIMITER, ctx.log, what, ctx.tenantId, u.model, asUsage(u)) : Promise.resolve()) };
  let spending;
  try {
    spending = await beginSpending(ctx.env, ctx.log, what, ctx.tenantId, declared.tokens, runMs + HOLD_MARGIN_MS);
  } catch (err) {
    ctx.log.error("the token budget could not be checked before a tool that spends", { err, tool: tool.name });
    return { code: "budget_unavailable", message: `${tool.name} was not called: the token budget it spends from could not be checked`, retryable: false };
  }
  if (!spending) return { code: "budget_exceeded", message: `${BUDGET_EXHAUSTED} ${tool.name} was not called: each call spends tokens.`, retryable: false };
  const held = spending;
  return { end: (u) => held.end(u ? { model: u.model, usage: asUsage(u) } : null) };
}

export const isRefusal = (s: CallSpending | ToolError): s is ToolError => "code" in s;

const asUsage = (u: ToolUsage): Usage => ({
  prompt_tokens: u.prompt_tokens,
  completion_tokens: u.completion_tokens,
  total_tokens: u.prompt_tokens + u.completion_tokens,
});
