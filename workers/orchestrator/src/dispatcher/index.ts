/**
 * The tool dispatcher: runs the calls a model asked for, in parallel, at most CIO_MAX_TOOL_CALLS_PER_ROUND
 * of them (the model hears that the rest were not run). For each call: the tool must be in the tenant's
 * registry, its arguments must match its schema, its circuit breaker must admit the call; then it runs
 * under a timeout, and retryable failures are retried with exponential backoff and full jitter (or after
 * the wait the tool asked for) — a tool whose manifest does not say idempotent only when the call never ran.
 * A tool that spends the tenant's tokens (its manifest's `spends`) is called only while the tenant's daily
 * budget is not spent, and what any call reports spending is booked to the tenant (spending.ts).
 * Every outcome is a DispatchResult — a failing tool never throws into the agent loop, it becomes an error
 * message the model (and the answer) can work around. What reaches the model is capped at
 * CIO_TOOL_MAX_CONTENT_CHARS per call and CIO_TOOL_MAX_ROUND_CHARS for the round.
 */
import type { Logger } from "../../../../lib/log.js";
import { addToolUsage, type ToolError, type ToolResult, type ToolUsage } from "../../../../lib/protocol/tool.js";
import type { OrchestratorEnv } from "../env.js";
import type { ModelToolCall } from "../providers/provider.js";
import type { RegisteredTool } from "../registry/index.js";
import { invoke, TransportError, type Invoked } from "../registry/transports.js";
import type { OrchestratorSettings } from "../settings.js";
import { Breakers } from "./breaker.js";
import { breakerVerdict, capText, retryWait, roundShares, type RetryPolicy } from "./outcome.js";
import { beginCall, isRefusal } from "./spending.js";
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
  /** Whether the tool was actually run (false for refused calls: unknown tool, invalid arguments, spent budget, open breaker). */
  ran: boolean;
  /** What the call reported spending on models the tenant pays for (over all its attempts); booked by the dispatcher. */
  usage?: ToolUsage;
}

export interface DispatchContext {
  env: OrchestratorEnv;
  settings: OrchestratorSettings;
  tenantId: string;
  requestId: string;
  log: Logger;
  /** The chat session of the request, handed to local tools that take `session_id` (e.g. analyze_file). */
  sessionId?: string;
  /** The API key of the request, handed to local tools (analyze_file queues its task under it). */
  keyId?: string;
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
  async dispatch(calls: ModelToolCall[], signal: AbortSignal, offered?: Set<string>): Promise<DispatchResult[]> {
    const max = this.ctx.settings.CIO_MAX_TOOL_CALLS_PER_ROUND;
    // A model that asks for dozens of calls at once would run them all at once: the tools' upstreams (and
    // our subrequest limit) take the burst, and their results flood its context.
    const results = await Promise.all(calls.map((c, i) => (i < max ? this.one(c, signal, offered) : tooMany(c, max))));
    return this.fitRound(results);
  }

  private async one(call: ModelToolCall, signal: AbortSignal, offered?: Set<string>): Promise<DispatchResult> {
    const started = Date.now();
    const refuse = (code: string, message: string, args: unknown = call.arguments) => refused(call, code, message, args, started);
    const tool = offered && !offered.has(call.name) ? undefined : this.tools.get(call.name);
    if (!tool) return refuse("unknown_tool", `there is no tool named '${call.name}' available now`);
    const parsed = parseArgs(tool.manifest, call.arguments);
    if (!parsed.ok) {
      // Not counted to the breaker: the call never reached the tool, and circuit_open would hide why it fails.
      if (parsed.code === "invalid_tool_schema") this.ctx.log.error("a tool's parameters schema cannot be used; its calls fail", { tool: tool.name, reason: parsed.message });
      return refuse(parsed.code, parsed.message);
    }
    const spending = await beginCall(this.ctx, tool, this.timeoutOf(tool) * (this.ctx.settings.CIO_TOOL_RETRIES + 1));
    if (isRefusal(spending)) return refuse(spending.code, spending.message, parsed.args);
    const r = await this.admitted(call, tool, parsed.args, signal, started).catch(async (err: unknown) => {
      await spending.end(undefined);
      throw err;
    });
    await spending.end(r.usage);
    return r;
  }

  /** A call that may run: its circuit breaker is asked, then the tool is called (with retries). */
  private async admitted(call: ModelToolCall, tool: RegisteredTool, args: Record<string, unknown>, signal: AbortSignal, started: number): Promise<DispatchResult> {
    const refuse = (code: string, message: string) => refused(call, code, message, args, started);
    const admission = await this.breakers.admit(tool.name);
    if (!admission.allowed) {
      const wait = Math.max(0, admission.retryAt - Date.now());
      return refuse("circuit_open", `${tool.name} is failing and paused (circuit breaker open; next try in ${Math.ceil(wait / 1000)} s)`);
    }
    const { result, attempts, usage } = await this.withRetries(tool, args, signal);
    // The caller went away (a client closed its stream): the tool's answer was cut off by us, which says
    // nothing about the tool, so neither its breaker nor its learned quality hears of it. A half-open probe
    // cut off so gives its turn back: kept, it would hold the breaker shut until it expired a cool-down later.
    if (!result.ok && signal.aborted) {
      if (admission.probe) await this.breakers.release(tool.name, admission.probe);
      return { ...refuse("cancelled", "the request was cancelled before the tool answered"), attempts, usage };
    }
    const latencyMs = Date.now() - started;
    const verdict = breakerVerdict(result, admission.probe);
    if (verdict !== null) await this.breakers.report(tool.name, verdict, admission.probe);
    const base = { call, arguments: args, latencyMs, attempts, ran: true, usage };
    if (result.ok) return { ...base, ok: true, content: result.content, data: result.data };
    this.ctx.log.warn("tool call failed", { tool: tool.name, code: result.error.code, attempts, latencyMs });
    return { ...base, ok: false, content: "", error: result.error };
  }

  /**
   * A tool's answer goes into the model's context: a huge one would overflow it and lose the whole answer,
   * and so would many large ones together. Each is cut to its share of the round's characters.
   */
  private fitRound(results: DispatchResult[]): DispatchResult[] {
    const s = this.ctx.settings;
    const texts = results.map((r) => (r.ok ? r.content : (r.error?.message ?? "")));
    const shares = roundShares(texts.map((t) => t.length), s.CIO_TOOL_MAX_CONTENT_CHARS, s.CIO_TOOL_MAX_ROUND_CHARS);
    const why = `, to fit the ${s.CIO_TOOL_MAX_ROUND_CHARS} characters all tool results of one round may take`;
    return results.map((r, i) => {
      const share = shares[i]!;
      const text = capText(texts[i]!, share, share < s.CIO_TOOL_MAX_CONTENT_CHARS ? why : "");
      if (text === texts[i]) return r;
      return r.ok ? { ...r, content: text } : { ...r, error: { ...r.error!, message: text } };
    });
  }

  private async withRetries(tool: RegisteredTool, args: Record<string, unknown>, signal: AbortSignal) {
    const s = this.ctx.settings;
    const timeoutMs = this.timeoutOf(tool);
    // A wait longer than one attempt's whole budget is not worth holding the answer for either.
    const policy: RetryPolicy = { idempotent: tool.manifest.idempotent === true, baseMs: s.CIO_TOOL_RETRY_BASE_MS, maxWaitMs: Math.min(s.CIO_TOOL_RETRY_MAX_WAIT_MS, timeoutMs) };
    let last: Invoked = { result: { ok: false, error: { code: "not_run", message: "not run", retryable: false } } };
    let usage: ToolUsage | undefined;
    for (let attempt = 0; ; attempt++) {
      if (signal.aborted) return { result: last.result, attempts: attempt, usage };
      last = await this.attempt(tool, args, signal, timeoutMs);
      if (last.result.usage) usage = addToolUsage(usage, last.result.usage);
      const wait = attempt < s.CIO_TOOL_RETRIES ? retryWait(last, policy, attempt) : null;
      if (last.result.ok || wait === null) return { result: last.result, attempts: attempt + 1, usage };
      this.ctx.log.info("tool call failed with a retryable error", { tool: tool.name, attempt, code: last.result.error.code, waitMs: wait });
      await sleepUnlessAborted(wait, signal);
    }
  }

  /** Our own tools that report to a session get the request's session, whatever the model wrote there. */
  private withSession(tool: RegisteredTool, args: Record<string, unknown>): Record<string, unknown> {
    const props = (tool.manifest.parameters as { properties?: Record<string, unknown> }).properties ?? {};
    if (tool.transport !== "local" || !("session_id" in props)) return args;
    const { session_id: _fromModel, ...rest } = args;
    return this.ctx.sessionId ? { ...rest, session_id: this.ctx.sessionId } : rest;
  }

  private timeoutOf(tool: RegisteredTool): number {
    return Math.min(tool.manifest.timeoutMs, this.ctx.settings.CIO_TOOL_TIMEOUT_MS);
  }

  /** One call under the tool's timeout (capped by settings); a timeout is final: the budget is spent. */
  private async attempt(tool: RegisteredTool, args: Record<string, unknown>, outer: AbortSignal, timeoutMs: number): Promise<Invoked> {
    const input = { args: this.withSession(tool, args), tenantId: this.ctx.tenantId, requestId: this.ctx.requestId, deadline: Date.now() + timeoutMs };
    const ac = new AbortController();
    const onOuter = () => ac.abort(outer.reason);
    outer.addEventListener("abort", onOuter, { once: true });
    let timer: ReturnType<typeof setTimeout> | null = null;
    const timedOut = new Promise<Invoked>((resolve) => {
      timer = setTimeout(() => {
        ac.abort(new Error("tool timeout"));
        resolve({ result: { ok: false, error: { code: "timeout", message: `${tool.name} did not answer within ${timeoutMs} ms`, retryable: false } } });
      }, timeoutMs);
    });
    try {
      const s = this.ctx.settings;
      const o = { hmacSecret: s.CIO_TOOL_HMAC_SECRET, maxBytes: s.CIO_TOOL_MAX_RESPONSE_BYTES, retryMaxWaitMs: s.CIO_TOOL_RETRY_MAX_WAIT_MS, keyId: this.ctx.keyId };
      return await Promise.race([invoke(this.ctx.env, tool, input, ac.signal, o).catch((err: unknown) => ({ result: asResult(err, tool) })), timedOut]);
    } finally {
      clearTimeout(timer);
      outer.removeEventListener("abort", onOuter);
    }
  }
}

/** A call that was not run: unknown tool, invalid arguments, open breaker, over the round's limit (or the agent loop's rules: agent/round-rules.ts). */
export function refused(call: ModelToolCall, code: string, message: string, args: unknown, started = Date.now()): DispatchResult {
  return {
    call, arguments: args, ok: false, latencyMs: Date.now() - started, attempts: 0, ran: false,
    content: "", error: { code, message, retryable: false },
  };
}

function tooMany(call: ModelToolCall, max: number): DispatchResult {
  const message = `not run: at most ${max} tool calls run per round (CIO_MAX_TOOL_CALLS_PER_ROUND), and this was one more; call it again in a later round if you still need it`;
  return refused(call, "too_many_calls", message, call.arguments);
}

/** Resolves after `ms`, or at once when the request is cancelled (the loop then stops before another attempt). */
function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => done(), ms);
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    signal.addEventListener("abort", done, { once: true });
  });
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
