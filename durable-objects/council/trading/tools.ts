/** Calling a tool Worker over its service binding with the council's tenant, request id and deadline. */
import type { ToolResult } from "../../../lib/protocol/tool.js";
import type { ToolService } from "../env.js";

export interface ToolCaller {
  tenantId: string;
  requestId: string;
  timeoutMs: number;
}

export async function callTool(service: ToolService | undefined, name: string, args: Record<string, unknown>, c: ToolCaller): Promise<ToolResult> {
  if (!service) return { ok: false, error: { code: "not_bound", message: `the ${name} tool is not bound to this Worker`, retryable: false } };
  try {
    return await service.execute({ args, tenantId: c.tenantId, requestId: c.requestId, deadline: Date.now() + c.timeoutMs });
  } catch (err) {
    return { ok: false, error: { code: "unreachable", message: `${name}: ${String(err)}`, retryable: true } };
  }
}

/** The tool's answer as evidence text; a failure is stated, not hidden, so the assistant knows what it lacks. */
export const asEvidence = (name: string, r: ToolResult) =>
  r.ok ? `[${name}] ${r.content}` : `[${name}] unavailable (${r.error.code}): ${r.error.message}`;

/** The last price from a market-data ticker result, if it is one. */
export function lastPrice(r: ToolResult): number | null {
  if (!r.ok) return null;
  const d = r.data as { lastPrice?: unknown } | undefined;
  return typeof d?.lastPrice === "number" && d.lastPrice > 0 ? d.lastPrice : null;
}
