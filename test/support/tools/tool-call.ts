/**
 * Helpers for calling a tool Worker the way the orchestrator does: over RPC, with a ToolInput. Free of
 * `cloudflare:*` and `node:*` imports so both the Workers-side tests and Node-side code can use it.
 */
import { ToolManifestSchema, type ToolInput, type ToolManifest, type ToolResult } from "../../../lib/protocol/tool.js";
import "./provided-context.js";

/** What a tool Worker looks like through a service binding or `exports.default`. */
export interface ToolStub {
  manifest(): Promise<ToolManifest>;
  execute(input: unknown): Promise<ToolResult>;
}

/**
 * Fetch the manifest over RPC and check it against the contract, including what the builtin planner
 * relies on: an object schema and at least three plain-language examples.
 */
export async function validManifest(tool: ToolStub): Promise<ToolManifest> {
  const m = ToolManifestSchema.parse(await tool.manifest());
  if (m.parameters.type !== "object") throw new Error(`${m.name}: parameters must be an object schema`);
  if ((m.examples?.length ?? 0) < 3) throw new Error(`${m.name}: give the planner at least three examples`);
  return m;
}

/** A ToolInput with test identities and a deadline `budgetMs` from now. */
export function toolInput(args: Record<string, unknown>, budgetMs = 5_000): ToolInput {
  return { args, tenantId: "t_test", requestId: "req_test", deadline: Date.now() + budgetMs };
}

/** Narrow a result to success, failing the test with the tool's own error otherwise. */
export function expectOk(result: ToolResult): Extract<ToolResult, { ok: true }> {
  if (!result.ok) throw new Error(`expected ok, got ${result.error.code}: ${result.error.message}`);
  return result;
}

/** Narrow a result to failure, failing the test with the tool's content otherwise. */
export function expectFail(result: ToolResult): Extract<ToolResult, { ok: false }>["error"] {
  if (result.ok) throw new Error(`expected a failure, got ok: ${result.content}`);
  return result.error;
}

/**
 * The Worker under test's default export, from `exports` of "cloudflare:workers". Its type is empty
 * unless `GlobalProps` names a main module, which one shared tsconfig over many Workers cannot do.
 */
export const defaultTool = (exports: object): ToolStub => (exports as { default: ToolStub }).default;
