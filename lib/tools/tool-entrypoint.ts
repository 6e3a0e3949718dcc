/**
 * The base of every tool Worker. A tool declares its arguments once, as a zod schema; the manifest's JSON
 * Schema is generated from it, and execute() validates the call, honours the deadline and turns every
 * failure into a typed ToolResult, so a tool never throws across the service binding. What the call told
 * `ctx.spent` goes out beside its result, so the orchestrator books it to the tenant.
 */
import { WorkerEntrypoint } from "cloudflare:workers";
import { z } from "zod";
import { argsJsonSchema } from "./args-schema.js";
import { addToolUsage, ToolInputSchema, toolFail, type ToolError, type ToolManifest, type ToolResult, type ToolUsage } from "../protocol/tool.js";

export class ToolFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly retryable = false,
    /** The wait the tool's upstream asked for (Retry-After), handed on so a retry waits that long; see retry-after.ts. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

export interface ToolContext {
  tenantId: string;
  requestId: string;
  deadline: number;
  /** Aborted when the deadline passes; hand it to fetch() so slow upstreams are cut off. */
  signal: AbortSignal;
  /**
   * How the tool names itself to the servers it calls, `cio-edge-<name>/<version>`: Workers' fetch() sends
   * no User-Agent, and some APIs (GitHub's) refuse every request without one.
   */
  userAgent: string;
  /**
   * Tells what the call spent on a model the tenant pays for, as soon as the model answered: it goes out with
   * the result as `usage`, a failure's too, and the orchestrator books it to the tenant's usage and budget.
   */
  spent(model: string, usage: Omit<ToolUsage, "model">): void;
}

export abstract class ToolEntrypoint<Env, Args extends z.ZodType> extends WorkerEntrypoint<Env> {
  abstract readonly args: Args;
  abstract readonly info: Omit<ToolManifest, "parameters">;
  protected abstract run(args: z.infer<Args>, ctx: ToolContext): Promise<ToolResult>;

  manifest(): ToolManifest {
    return { ...this.info, parameters: argsJsonSchema(this.args) };
  }

  async execute(raw: unknown): Promise<ToolResult> {
    const input = ToolInputSchema.safeParse(raw);
    if (!input.success) return toolFail("invalid_input", z.prettifyError(input.error));
    const args = this.args.safeParse(input.data.args);
    if (!args.success) return toolFail("invalid_arguments", z.prettifyError(args.error));
    const remaining = input.data.deadline - Date.now();
    if (remaining <= 0) return toolFail("deadline_exceeded", "the deadline passed before the tool started", true);
    const signal = AbortSignal.timeout(remaining);
    let usage: ToolUsage | undefined;
    const spent = (model: string, u: Omit<ToolUsage, "model">) => {
      usage = addToolUsage(usage, { model, prompt_tokens: u.prompt_tokens, completion_tokens: u.completion_tokens });
    };
    let result: ToolResult;
    try {
      const userAgent = `cio-edge-${this.info.name}/${this.info.version}`;
      result = await this.run(args.data, { ...input.data, signal, spent, userAgent });
    } catch (err) {
      result = asFailure(err, signal);
    }
    return usage ? { ...result, usage } : result;
  }

  /** Plain HTTP answers health checks and shows the manifest, which helps when wiring tools by hand. */
  override async fetch(): Promise<Response> {
    return Response.json(this.manifest());
  }
}

function asFailure(err: unknown, signal: AbortSignal): ToolResult {
  if (err instanceof ToolFailure) return failureResult(err);
  if (signal.aborted) return toolFail("deadline_exceeded", "the tool did not finish before its deadline", true);
  const message = err instanceof Error ? err.message : String(err);
  return toolFail("tool_error", message, false);
}

/** The failure as a ToolResult, with the wait its upstream asked for when it named one. */
function failureResult(f: ToolFailure): ToolResult {
  const error: ToolError = { code: f.code, message: f.message, retryable: f.retryable };
  if (f.retryAfterMs !== undefined) error.retryAfterMs = f.retryAfterMs;
  return { ok: false, error };
}
