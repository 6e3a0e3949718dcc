/**
 * Helpers for the council tests: a tenant row, the orchestrator's council RPC, a scripted question whose
 * mock-model cases answer per assistant and round, and waiting for the alarm-driven council to settle.
 */
import { runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { expect } from "vitest";
import type { CouncilEnv } from "../../../durable-objects/council/env.js";
import type { CouncilDO } from "../../../durable-objects/council/index.js";
import type { CouncilView, RpcReply } from "../../../lib/protocol/index.js";
import { released } from "../../../lib/rpc.js";
import { councilStub } from "../src/councils/rpc.js";
import { withDirective, type DirectiveCase } from "../../../test/mock-upstream/directive.js";

export interface Orch {
  councils(x: unknown): Promise<RpcReply<CouncilView>>;
  trading(x: unknown): Promise<RpcReply>;
}
const raw = () => (exports as unknown as { default: Orch }).default;
export const orch = (): Orch => ({ councils: (x) => released(raw().councils(x)), trading: (x) => released(raw().trading(x)) });
export const DB = () => (env as unknown as { DB: D1Database }).DB;

export async function tenant(): Promise<string> {
  const id = `ten_${crypto.randomUUID().slice(0, 8)}`;
  await DB().prepare("INSERT INTO tenants (id, name) VALUES (?, ?)").bind(id, id).run();
  return id;
}

export const ctx = (tenantId: string) => ({ requestId: `req-${crypto.randomUUID().slice(0, 8)}`, tenantId, keyId: "k1" });

/** The mock model's reply for an assistant in a round: the JSON the council asks for. */
export const says = (option: string, confidence = 0.8, reasoning = `I pick ${option}.`) => JSON.stringify({ option, confidence, reasoning });

/** A case: the assistant whose persona says `You are <who>.` answers `text` in `round` (any round if omitted). */
export const when = (who: string, round: number | null, text: string, extra: Partial<DirectiveCase> = {}): DirectiveCase => ({
  when: [`You are ${who}.`, ...(round ? [`Round ${round} of`] : [])],
  text,
  ...extra,
});

export const scripted = (question: string, cases: DirectiveCase[]) => withDirective(question, { cases });

export const persona = (who: string) => ({ id: who, persona: `You are ${who}.` });

export async function create(tenantId: string, body: Record<string, unknown>): Promise<CouncilView> {
  const reply = await orch().councils({ ...ctx(tenantId), action: "create", body });
  if (reply.kind !== "ok") throw new Error(`create failed: ${JSON.stringify(reply.error)}`);
  return reply.body;
}

export async function get(tenantId: string, councilId: string): Promise<RpcReply<CouncilView>> {
  return orch().councils({ ...ctx(tenantId), action: "get", councilId });
}

/** Polls until the council leaves `running` (the alarm drives it in the background). */
export async function settled(tenantId: string, councilId: string, timeoutMs = 20_000, until = (v: CouncilView) => v.status !== "running"): Promise<CouncilView> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const r = await get(tenantId, councilId);
    if (r.kind === "ok" && until(r.body)) return r.body;
    if (Date.now() > end) throw new Error(`council ${councilId} did not settle: ${JSON.stringify(r)}`);
    await new Promise((res) => setTimeout(res, 25));
  }
}

export function expectError(r: RpcReply<unknown>, status: number, code?: string) {
  expect(r.kind).toBe("error");
  if (r.kind !== "error") return;
  expect(r.error.status).toBe(status);
  if (code) expect(r.error.error.code).toBe(code);
}

export const rows = async <T = Record<string, unknown>>(sql: string, ...args: unknown[]) => (await DB().prepare(sql).bind(...args).all<T>()).results;

/**
 * Replaces bindings and vars of a council object's env (the test runs in the object's isolate, so closures are
 * shared). Patch before the council is created: the object then keeps the patched env while it lives.
 */
export function patchEnv(t: string, id: string, patch: (env: CouncilEnv) => Partial<CouncilEnv> & Record<string, unknown>) {
  return runInDurableObject(councilStub(env as never, t, id), (o: CouncilDO) => {
    const self = o as unknown as { env: CouncilEnv };
    self.env = { ...self.env, ...patch(self.env) };
  });
}
