/**
 * The three ways a tool is reached: a service binding to a tool Worker (RPC to its WorkerEntrypoint), an
 * HTTPS service in any language (POST <url>/execute, HMAC-signed), or a tool inside the orchestrator.
 * Each returns the tool's ToolResult or throws when the tool could not be reached at all.
 */
import { ToolResultSchema, type ToolInput, type ToolManifest, type ToolResult, type ToolService } from "../../../../lib/protocol/tool.js";
import { signToolRequest } from "../../../../lib/tools/signature.js";
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

export async function invoke(env: OrchestratorEnv, tool: RegisteredTool, input: ToolInput, signal: AbortSignal, hmacSecret?: string): Promise<ToolResult> {
  if (tool.transport === "rpc") {
    const svc = (env as unknown as Record<string, ToolService | undefined>)[tool.target];
    if (!svc) throw new TransportError("tool_unbound", `the binding ${tool.target} is not configured`);
    return checked(await svc.execute(input));
  }
  if (tool.transport === "local") {
    const local = LOCAL_TOOLS.find((t) => t.manifest.name === tool.target);
    if (!local) throw new TransportError("tool_unbound", `no local tool named ${tool.target}`);
    return checked(await local.execute(env, input));
  }
  return https(tool.target, input, signal, hmacSecret);
}

async function https(baseUrl: string, input: ToolInput, signal: AbortSignal, secret?: string): Promise<ToolResult> {
  if (!secret) throw new TransportError("tool_unsigned", "CIO_TOOL_HMAC_SECRET is not set, so HTTPS tools cannot be called");
  const body = JSON.stringify(input);
  const res = await fetch(`${baseUrl.replace(/\/$/, "")}/execute`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(await signToolRequest(secret, body)) },
    body,
    signal,
  });
  const text = await res.text();
  if (!res.ok) {
    const code = res.status >= 500 || res.status === 429 ? "tool_unavailable" : "tool_rejected";
    // 5xx and 429 are the service's trouble and may pass; other statuses will not change on a retry.
    return { ok: false, error: { code, message: `HTTP ${res.status}: ${text.slice(0, 300)}`, retryable: code === "tool_unavailable" } };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new TransportError("tool_bad_response", "the tool answered with something that is not JSON");
  }
  return checked(parsed);
}

function checked(raw: unknown): ToolResult {
  const r = ToolResultSchema.safeParse(raw);
  if (!r.success) throw new TransportError("tool_bad_response", "the tool's answer does not match the tool contract");
  return r.data;
}
