/**
 * The tool dispatcher: runs the calls a model asked for, in parallel. For each call: the tool must be in
 * the tenant's registry, its arguments must match its schema, its circuit breaker must admit the call;
 * then it runs under a timeout, and retryable failures are retried with exponential backoff and full
 * jitter while the time allows. Every outcome is a DispatchResult — a failing tool never throws into
 * the agent loop, it becomes an error message the model (and the answer) can work around. What reaches
 * the model is capped at CIO_TOOL_MAX_CONTENT_CHARS.
 */
import type { Logger } from "../../../../lib/log.js";
import type { ToolError, ToolResult } from "../../../../lib/protocol/tool.js";
import { backoffMs, sleep } from "../../../../lib/time.js";
import type { OrchestratorEnv } from "../env.js";
import type { ModelToolCall } from "../providers/provider.js";
import type { RegisteredTool } from "../registry/index.js";
import { invoke, TransportError } from "../registry/transports.js";
import type { OrchestratorSettings } from "../settings.js";
import { Breakers } from "./breaker.js";
import { breakerVerdict, capText, worthRetrying } from "./outcome.js";
import { parseArgs } from "./validate.js";

export interface DispatchResult {
  call: ModelToolCall;
  /** Parsed arguments when they were valid JSON, else the raw text. */
  arguments: unknown;
  ok: boolean;
  latencyMs: number;
  attempts: number;
  content: string;
  data?: unknown;
  error?: ToolError;
  /** Whether the tool was actually run (false for refused calls: unknown tool, invalid arguments, open breaker). */
  ran: boolean;
}

export interface DispatchContext {
  env: OrchestratorEnv;
  settings: OrchestratorSettings;
  tenantId: string;
  requestId: string;
  log: Logger;
  /** The chat session of the request, handed to local tools that take `session_id` (e.g. analyze_file). */
  sessionId?: string;
  /** Work that may finish after the answer (ctx.waitUntil): breaker refreshes. */
  waitUntil?: (p: Promise<unknown>) => void;
}

export class Dispatcher {
  private readonly breakers: Breakers;

  constructor(
    private readonly ctx: DispatchContext,
    private readonly tools: Map<string, RegisteredTool>,
  ) {
    this.breakers = new Breakers(ctx.env, ctx.settings, ctx.tenantId, ctx.log, ctx.waitUntil);
  }

  /** `offered`: the tools the model was shown this round; a call to any other is refused. */
  dispatch(calls: ModelToolCall[], signal: AbortSignal, offered?: Set<string>): Promise<DispatchResult[]> {
    return Promise.all(calls.map((c) => this.one(c, signal, offered)));
  }

  private async one(call: ModelToolCall, signal: AbortSignal, offered?: Set<string>): Promise<DispatchResult> {
    const started = Date.now();
    const refuse = (code: string, message: string, args: unknown = call.arguments): DispatchResult => ({
      call, arguments: args, ok: false, latencyMs: Date.now() - started, attempts: 0, ran: false,
      content: "", error: { code, message, retryable: false },
    });
    const tool = offered && !offered.has(call.name) ? undefined : this.tools.get(call.name);
    if (!tool) return refuse("unknown_tool", `there is no tool named '${call.name}' available now`);
    const parsed = parseArgs(tool.manifest, call.arguments);
    if (!parsed.ok) return refuse("invalid_arguments", `invalid arguments for ${call.name}: ${parsed.message}`);
    const admission = await this.breakers.admit(tool.name);
    if (!admission.allowed) {
      const wait = Math.max(0, admission.retryAt - Date.now());
      return refuse("circuit_open", `${tool.name} is failing and paused (circuit breaker open; next try in ${Math.ceil(wait / 1000)} s)`, parsed.args);
    }
    const { result, attempts } = await this.withRetries(tool, parsed.args, signal);
    // The caller went away (a client closed its stream): the tool's answer was cut off by us, which says
    // nothing about the tool, so neither its breaker nor its learned quality hears of it.
    if (!result.ok && signal.aborted) return { ...refuse("cancelled", "the request was cancelled before the tool answered", parsed.args), attempts };
    const latencyMs = Date.now() - started;
    const verdict = breakerVerdict(result, admission.probe);
    if (verdict !== null) await this.breakers.report(tool.name, verdict, admission.probe);
    const base = { call, arguments: parsed.args, latencyMs, attempts, ran: true };
    // A tool's answer goes into the model's context: a huge one would overflow it and lose the whole answer.
    const cap = (text: string) => capText(text, this.ctx.settings.CIO_TOOL_MAX_CONTENT_CHARS);
    if (result.ok) return { ...base, ok: true, content: cap(result.content), data: result.data };
    this.ctx.log.warn("tool call failed", { tool: tool.name, code: result.error.code, attempts, latencyMs });
    return { ...base, ok: false, content: "", error: { ...result.error, message: cap(result.error.message) } };
  }

  private async withRetries(tool: RegisteredTool, args: Record<string, unknown>, signal: AbortSignal) {
    const s = this.ctx.settings;
    let result: ToolResult = { ok: false, error: { code: "not_run", message: "not run", retryable: false } };
    let attempt = 0;
    for (; attempt <= s.CIO_TOOL_RETRIES; attempt++) {
      if (attempt > 0) await sleep(backoffMs(attempt - 1, s.CIO_TOOL_RETRY_BASE_MS));
      if (signal.aborted) break;
      result = await this.attempt(tool, args, signal);
      if (result.ok || !worthRetrying(result.error)) return { result, attempts: attempt + 1 };
      this.ctx.log.info("tool call failed with a retryable error", { tool: tool.name, attempt, code: result.error.code });
    }
    return { result, attempts: attempt };
  }

  /** Our own tools that report to a session get the request's session, whatever the model wrote there. */
  private withSession(tool: RegisteredTool, args: Record<string, unknown>): Record<string, unknown> {
    const props = (tool.manifest.parameters as { properties?: Record<string, unknown> }).properties ?? {};
    if (tool.transport !== "local" || !("session_id" in props)) return args;
    const { session_id: _fromModel, ...rest } = args;
    return this.ctx.sessionId ? { ...rest, session_id: this.ctx.sessionId } : rest;
  }

  /** One call under the tool's timeout (capped by settings); a timeout is final: the budget is spent. */
  private async attempt(tool: RegisteredTool, args: Record<string, unknown>, outer: AbortSignal): Promise<ToolResult> {
    const timeoutMs = Math.min(tool.manifest.timeoutMs, this.ctx.settings.CIO_TOOL_TIMEOUT_MS);
    const input = { args: this.withSession(tool, args), tenantId: this.ctx.tenantId, requestId: this.ctx.requestId, deadline: Date.now() + timeoutMs };
    const ac = new AbortController();
    const onOuter = () => ac.abort(outer.reason);
    outer.addEventListener("abort", onOuter, { once: true });
    let timer: ReturnType<typeof setTimeout> | null = null;
    const timedOut = new Promise<ToolResult>((resolve) => {
      timer = setTimeout(() => {
        ac.abort(new Error("tool timeout"));
        resolve({ ok: false, error: { code: "timeout", message: `${tool.name} did not answer within ${timeoutMs} ms`, retryable: false } });
      }, timeoutMs);
    });
    try {
      const o = { hmacSecret: this.ctx.settings.CIO_TOOL_HMAC_SECRET, maxBytes: this.ctx.settings.CIO_TOOL_MAX_RESPONSE_BYTES };
      return await Promise.race([invoke(this.ctx.env, tool, input, ac.signal, o).catch((err: unknown) => asResult(err, tool)), timedOut]);
    } finally {
      clearTimeout(timer);
      outer.removeEventListener("abort", onOuter);
    }
  }
}

function asResult(err: unknown, tool: RegisteredTool): ToolResult {
  if (err instanceof TransportError) return { ok: false, error: { code: err.code, message: err.message, retryable: false } };
  // Unreachable service, reset connection, RPC exception: the kind of failure that may pass. But the call
  // may have gone out and run before the connection dropped, so only a tool that may run twice is called
  // again (a second order, a second paid image generation, must not happen behind the model's back).
  const message = err instanceof Error ? err.message : String(err);
  if (tool.manifest.idempotent) return { ok: false, error: { code: "tool_unreachable", message, retryable: true } };
  return { ok: false, error: { code: "tool_unreachable", message: `${message} (not retried: the call may have run, and ${tool.name} is not idempotent)`, retryable: false } };
}
