/**
 * The three ways a tool is reached: a service binding to a tool Worker (RPC to its WorkerEntrypoint), an
 * HTTPS service in any language (POST <url>/execute, HMAC-signed), or a tool inside the orchestrator.
 * Each returns the tool's ToolResult (with what only the transport knows about it) or throws when the tool
 * could not be reached at all.
 */
import type { z } from "zod";
import { ToolResultSchema, type ToolInput, type ToolManifest, type ToolResult, type ToolService } from "../../../../lib/protocol/tool.js";
import { retryDelayMs } from "../../../../lib/http/retry-delay.js";
import { describeWait } from "../../../../lib/tools/retry-after.js";
import { signToolRequest, toolSigningSecret } from "../../../../lib/tools/signature.js";
import type { OrchestratorEnv } from "../env.js";
import { LOCAL_TOOLS } from "../tools/local.js";

export type { ToolService };

export type Transport = "rpc" | "https" | "local";

export interface RegisteredTool {
  name: string;
  transport: Transport;
  /** The binding name (rpc), base URL (https) or local tool name. */
  target: string;
  manifest: ToolManifest;
}

/** Thrown when the tool could not be reached or answered something that is not a ToolResult. */
export class TransportError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface InvokeOptions {
  /** Signs calls to HTTPS tools; without it they cannot be called. */
  hmacSecret?: string;
  /** Bytes of an HTTPS tool's answer read at most. */
  maxBytes: number;
  /** An HTTPS tool's 429 asking for a longer wait (Retry-After) is not retryable. */
  retryMaxWaitMs: number;
  /** The API key of the call, handed to local tools only (LocalToolInput). */
  keyId?: string;
}

/** A call's outcome, with what the dispatcher needs to decide on another attempt. */
export interface Invoked {
  result: ToolResult;
  /** The wait asked for before another attempt: a Retry-After, or the hint a tool put beside its error. */
  retryAfterMs?: number;
  /**
   * Set here only, never from what a tool answered: the service refused the call before running it (HTTP
   * 429), so even a tool that must not run twice may be called again.
   */
  notRun?: boolean;
}

export async function invoke(env: OrchestratorEnv, tool: RegisteredTool, input: ToolInput, signal: AbortSignal, o: InvokeOptions): Promise<Invoked> {
  if (tool.transport === "rpc") {
    const svc = (env as unknown as Record<string, ToolService | undefined>)[tool.target];
    if (!svc) throw new TransportError("tool_unbound", `the binding ${tool.target} is not configured`);
    return checked(await svc.execute(input));
  }
  if (tool.transport === "local") {
    const local = LOCAL_TOOLS.find((t) => t.manifest.name === tool.target);
    if (!local) throw new TransportError("tool_unbound", `no local tool named ${tool.target}`);
    return checked(await local.execute(env, { ...input, keyId: o.keyId }));
  }
  return https(tool, input, signal, o);
}

async function https(tool: RegisteredTool, input: ToolInput, signal: AbortSignal, o: InvokeOptions): Promise<Invoked> {
  if (!o.hmacSecret) throw new TransportError("tool_unsigned", "CIO_TOOL_HMAC_SECRET is not set, so HTTPS tools cannot be called");
  const body = JSON.stringify(input);
  const res = await fetch(`${tool.target.replace(/\/$/, "")}/execute`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(await signToolRequest(await toolSigningSecret(o.hmacSecret, tool.name), body)) },
    body,
    signal,
  });
  const text = await readCapped(res, o.maxBytes);
  if (!res.ok) return httpFailure(tool, res, text, o);
  if (text === null) throw new TransportError("tool_response_too_large", `the tool answered more than ${o.maxBytes} bytes (CIO_TOOL_MAX_RESPONSE_BYTES)`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new TransportError("tool_bad_response", "the tool answered with something that is not JSON");
  }
  return checked(parsed);
}

/**
 * 5xx and 429 are the service's trouble and may pass; other statuses will not change on a retry. A 429 says
 * the call was not taken, so any tool may be called again, after the wait it names (one past retryMaxWaitMs
 * is not waited for: the model hears it); after a 5xx the call may have run, so only an idempotent tool is.
 */
function httpFailure(tool: RegisteredTool, res: Response, text: string | null, o: InvokeOptions): Invoked {
  const body = `HTTP ${res.status}: ${(text ?? "(a body over the size limit)").slice(0, 300)}`;
  const wait = retryDelayMs(res.headers) ?? undefined;
  const message = wait === undefined ? body : `${body} (${describeWait(wait)})`;
  if (res.status === 429) {
    const retryable = wait === undefined || wait <= o.retryMaxWaitMs;
    return { result: { ok: false, error: { code: "tool_unavailable", message, retryable } }, retryAfterMs: wait, notRun: true };
  }
  const code = res.status >= 500 ? "tool_unavailable" : "tool_rejected";
  const retryable = code === "tool_unavailable" && tool.manifest.idempotent === true;
  return { result: { ok: false, error: { code, message, retryable } }, retryAfterMs: wait };
}

/**
 * The body as text, decoded as it streams in and given up (null) once it passes `max` bytes: a service
 * that answers megabytes costs us at most `max`, never the memory of the whole answer.
 */
async function readCapped(res: Response, max: number): Promise<string | null> {
  if (Number(res.headers.get("content-length") ?? 0) > max) return (await res.body?.cancel().catch(() => undefined), null);
  if (!res.body) return "";
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let [text, size] = ["", 0];
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
    size += chunk.value.byteLength;
    if (size > max) return (await reader.cancel().catch(() => undefined), null);
    text += decoder.decode(chunk.value, { stream: true });
  }
  return text + decoder.decode();
}

/** The answer as a ToolResult, with the wait the tool asked for beside it (its error's retryAfterMs). */
function checked(raw: unknown): Invoked {
  const r = ToolResultSchema.safeParse(raw);
  if (!r.success) throw new TransportError("tool_bad_response", `the tool's answer does not match the tool contract (${firstIssue(r.error)})`);
  return { result: r.data, retryAfterMs: r.data.ok ? undefined : r.data.error.retryAfterMs };
}

/** Where the answer broke the contract, and how: zod's issue messages name no value, so they stay short. */
function firstIssue(err: z.ZodError): string {
  const issue = err.issues[0]!;
  return issue.path.length ? `${issue.path.join(".")}: ${issue.message}` : issue.message;
}
