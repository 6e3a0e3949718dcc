/** Sessions made straight on the Durable Object (the gateway's tests go through HTTP). */
import { env } from "cloudflare:workers";
import { inject } from "vitest";
import { stubFor } from "../../../lib/do-names.js";
import { sessionObjectName } from "../../../lib/protocol/index.js";
import { SOCKET_HEADERS } from "../../../lib/protocol/session.js";
import { SessionClient } from "./session-client.js";
import type { OrchestratorEnv } from "../src/env.js";

export const e = env as unknown as OrchestratorEnv;

export interface TestSession {
  tenantId: string;
  sessionId: string;
  stub: ReturnType<typeof sessionStub>;
}

export const sessionStub = (tenantId: string, sessionId: string) => stubFor(e.SESSIONS, sessionObjectName(tenantId, sessionId));

export async function newTenant(): Promise<string> {
  const tenantId = `t-${crypto.randomUUID()}`;
  await e.DB.prepare("INSERT INTO tenants (id, name) VALUES (?, ?)").bind(tenantId, "test").run();
  return tenantId;
}

export async function newSession(tenantId?: string, model = "mock-model"): Promise<TestSession> {
  const t = tenantId ?? (await newTenant());
  const sessionId = `sess_${crypto.randomUUID().replace(/-/g, "")}`;
  const stub = sessionStub(t, sessionId);
  await stub.create({ tenantId: t, sessionId, title: "test", model });
  return { tenantId: t, sessionId, stub };
}

export function upgrade(s: TestSession, tenantId = s.tenantId): Promise<Response> {
  return s.stub.fetch("https://session.internal/ws", {
    headers: { upgrade: "websocket", [SOCKET_HEADERS.tenant]: tenantId, [SOCKET_HEADERS.session]: s.sessionId, [SOCKET_HEADERS.key]: "k-test" },
  });
}

/** A connected client that has received `ready`. */
export async function connect(s: TestSession): Promise<SessionClient> {
  const c = SessionClient.from(await upgrade(s));
  await c.waitFor((f) => f.type === "ready");
  return c;
}

/** What the mock model logged for requests carrying directive id `id`. */
export async function upstreamLog(id: string): Promise<{ aborted: boolean; completed: boolean; body: { messages: { role: string; content: string }[] } }[]> {
  const base = inject("upstreamUrl").replace(/\/v1$/, "");
  return (await (await fetch(`${base}/__requests?id=${encodeURIComponent(id)}`)).json()) as never;
}

export async function eventually(check: () => Promise<boolean> | boolean, ms = 5000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 25));
  }
}
