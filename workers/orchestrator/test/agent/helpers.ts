/**
 * Helpers for the agent tests: each test gets its own tenant (so registry, statistics and breakers never
 * leak between tests), calls the orchestrator's chat entry directly with per-test settings, and can
 * register HTTPS tools served by the mock upstream.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { inject } from "vitest";
import type { ChatCompletion, ChatMessage, ChatReply, ToolManifest } from "../../../../lib/protocol/index.js";
import { withDirective, type ScriptStep } from "../../../../test/mock-upstream/directive.js";
import { runChat } from "../../src/chat.js";
import type { OrchestratorEnv } from "../../src/env.js";
import type { AiBinding } from "../../src/providers/workers-ai/index.js";
import { grantTool, registerHttpsTool } from "../../src/registry/index.js";

export const baseEnv = env as unknown as OrchestratorEnv;
/** The mock upstream's origin (it serves the model under /v1 and HTTPS tools under /tools). */
export const mockOrigin = () => inject("upstreamUrl").replace(/\/v1$/, "");

/** A tenant with a key of every scope, `keyOf(tenant)`, which chat() calls with unless told another. */
export async function newTenant(): Promise<string> {
  const id = `ten_${crypto.randomUUID().slice(0, 12)}`;
  await baseEnv.DB.prepare("INSERT INTO tenants (id, name) VALUES (?, ?)").bind(id, id).run();
  await newKey(id, ["*"], keyOf(id));
  return id;
}

export const keyOf = (tenantId: string) => `key_${tenantId}`;

export async function newKey(tenantId: string, scopes: string[], id = `key_${crypto.randomUUID().slice(0, 12)}`): Promise<string> {
  await baseEnv.DB.prepare("INSERT INTO api_keys (id, tenant_id, name, prefix, hash, scopes) VALUES (?, ?, 'test', 'sk-cio-test', ?, ?)")
    .bind(id, tenantId, id, JSON.stringify(scopes))
    .run();
  return id;
}

export interface ChatOptions {
  tenantId: string;
  /** Vars (and bindings, e.g. a scripted AI) laid over the test env for this call. */
  settings?: Record<string, unknown>;
  requestId?: string;
  keyId?: string;
  body?: Record<string, unknown>;
}

/** The openai provider against the scripted mock model. */
export const OPENAI = { CIO_PROVIDER: "openai", CIO_AUTO_MODEL: "mock-model" };

export async function chat(messages: ChatMessage[], o: ChatOptions): Promise<ChatReply> {
  const ctx = createExecutionContext();
  const e = { ...baseEnv, ...o.settings } as OrchestratorEnv;
  const reply = await runChat(e, ctx, { requestId: o.requestId ?? crypto.randomUUID(), tenantId: o.tenantId, keyId: o.keyId ?? keyOf(o.tenantId), body: { model: "cio/auto", messages, ...o.body } });
  if (reply.kind !== "stream") await waitOnExecutionContext(ctx);
  return reply;
}

export const user = (content: string): ChatMessage => ({ role: "user", content });
export const scripted = (text: string, script: ScriptStep[], id?: string) => user(withDirective(text, { script, id }));

export function completionOf(reply: ChatReply): ChatCompletion & { cio: { provider: string; steps: number; tools: { name: string; arguments: unknown; latency_ms: number; ok: boolean; error?: { code: string } }[] } } {
  if (reply.kind !== "json") throw new Error(`expected a JSON reply, got ${JSON.stringify(reply)}`);
  return reply.completion as never;
}

export async function streamText(reply: ChatReply): Promise<string> {
  if (reply.kind !== "stream") throw new Error(`expected a stream, got ${JSON.stringify(reply)}`);
  return new Response(reply.body).text();
}

/** Registers an HTTPS tool served by the mock upstream, granted to `tenantId` only. */
export async function mockTool(tenantId: string, name: string, extra: Partial<ToolManifest> = {}): Promise<ToolManifest> {
  const manifest: ToolManifest = {
    name,
    description: `Scripted test tool ${name}`,
    parameters: { type: "object", properties: { mode: { type: "string" }, key: { type: "string" }, ms: { type: "integer" }, n: { type: "integer" }, retryable: { type: "boolean" }, status: { type: "integer" }, code: { type: "string" } }, additionalProperties: false },
    timeoutMs: 2_000,
    version: "1.0.0",
    ...extra,
  };
  await registerHttpsTool(baseEnv, `${mockOrigin()}/tools/${name}`, manifest, { public: false });
  await grantTool(baseEnv, tenantId, name);
  return manifest;
}

export async function toolCalls(key: string): Promise<number> {
  return ((await (await fetch(`${mockOrigin()}/__tools/calls?key=${encodeURIComponent(key)}`)).json()) as { calls: number }).calls;
}

export async function setSwitch(key: string, down: boolean) {
  await fetch(`${mockOrigin()}/__tools/switch`, { method: "POST", body: JSON.stringify({ key, down }) });
}

export const uniq = (p: string) => `${p}-${crypto.randomUUID().slice(0, 8)}`;

/** Workers AI at the edge: a scripted binding that records what it was sent. */
export function scriptedAi(answers: ((inputs: Record<string, unknown>) => unknown)[]) {
  const seen: { model: string; inputs: Record<string, unknown> }[] = [];
  const ai: AiBinding = {
    async run(model, inputs) {
      seen.push({ model, inputs });
      return answers[Math.min(seen.length - 1, answers.length - 1)]!(inputs);
    },
  };
  return { ai, seen };
}
