import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, inject, it, vi } from "vitest";
import { withDirective } from "../../../test/mock-upstream/directive.js";
import { admin, call, chatBody, newTenant, readSse, type TenantFixture } from "../../../test/support/fixtures.js";
import { SessionClient, textOf } from "../../orchestrator/test/session-client.js";
import gatewayApp from "../src/index.js";

const DB = (env as unknown as { DB: D1Database }).DB;

async function createSession(t: TenantFixture, body: unknown = { title: "Plans", model: "mock-model" }) {
  const res = await call("/v1/sessions", { method: "POST", headers: t.headers, body: JSON.stringify(body) });
  expect(res.status).toBe(201);
  return (await res.json()) as { id: string; title: string | null; model: string; last_seq: number };
}

const socket = (id: string, headers: Record<string, string>, query = "") =>
  call(`/v1/sessions/${id}/ws${query}`, { headers: { ...headers, upgrade: "websocket" } });

async function ticketFor(t: TenantFixture, id: string) {
  const res = await call(`/v1/sessions/${id}/ticket`, { method: "POST", headers: t.headers });
  expect(res.status).toBe(201);
  return (await res.json()) as { ticket: string; expires_at: number };
}

describe("/v1/sessions REST", () => {
  it("creates, reads, lists (paginated) and deletes sessions", async () => {
    const t = await newTenant();
    const a = await createSession(t);
    expect(a).toMatchObject({ object: "session", title: "Plans", model: "mock-model", last_seq: 0 });
    expect(a.id).toMatch(/^sess_/);
    const b = await createSession(t, {});
    expect(b).toMatchObject({ title: null, model: "cio/auto" });
    const c = await createSession(t);
    const got = await call(`/v1/sessions/${a.id}`, { headers: t.headers });
    expect(await got.json()).toMatchObject({ id: a.id, title: "Plans" });

    const page1 = (await (await call("/v1/sessions?limit=2", { headers: t.headers })).json()) as { data: { id: string }[]; has_more: boolean; last_id: string };
    expect(page1.data.map((s) => s.id)).toEqual([c.id, b.id]);
    expect(page1.has_more).toBe(true);
    const page2 = (await (await call(`/v1/sessions?limit=2&after=${page1.last_id}`, { headers: t.headers })).json()) as { data: { id: string }[]; has_more: boolean };
    expect(page2).toMatchObject({ data: [{ id: a.id }], has_more: false });

    const del = await call(`/v1/sessions/${b.id}`, { method: "DELETE", headers: t.headers });
    expect(await del.json()).toEqual({ id: b.id, object: "session.deleted", deleted: true });
    expect((await call(`/v1/sessions/${b.id}`, { headers: t.headers })).status).toBe(404);
    expect((await call(`/v1/sessions/${b.id}`, { method: "DELETE", headers: t.headers })).status).toBe(404);
  });

  it("rejects bad input with OpenAI-shaped errors and creates nothing", async () => {
    const t = await newTenant();
    const bad = await call("/v1/sessions", { method: "POST", headers: t.headers, body: JSON.stringify({ title: 5 }) });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { type: "invalid_request_error" } });
    // A model no turn could be answered with.
    const badModel = await call("/v1/sessions", { method: "POST", headers: t.headers, body: JSON.stringify({ model: "no-such-model" }) });
    expect(badModel.status).toBe(400);
    expect(await badModel.json()).toMatchObject({ error: { param: "model", code: "model_not_found", message: expect.stringContaining("cio/auto") } });
    const badLimit = await call("/v1/sessions?limit=1000", { headers: t.headers });
    expect(badLimit.status).toBe(400);
    const badCursor = await call("/v1/sessions?after=sess_nope", { headers: t.headers });
    expect(badCursor.status).toBe(400);
    expect((await (await call("/v1/sessions", { headers: t.headers })).json()) as object).toMatchObject({ data: [] });
  });

  it("takes no body at all, as an SDK's bare POST sends it (JSON content type, nothing after); malformed JSON is a 400", async () => {
    const t = await newTenant();
    const headers = { ...t.headers, "content-type": "application/json" };
    const bare = await call("/v1/sessions", { method: "POST", headers });
    expect(bare.status).toBe(201);
    expect(await bare.json()).toMatchObject({ object: "session", title: null, model: "cio/auto" });
    const malformed = await call("/v1/sessions", { method: "POST", headers, body: "{title" });
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ error: { type: "invalid_request_error", message: expect.stringContaining("Malformed JSON") } });
    const list = (await (await call("/v1/sessions", { headers: t.headers })).json()) as { data: unknown[] };
    expect(list.data).toHaveLength(1);
  });

  it("needs the 'sessions' scope", async () => {
    const t = await newTenant({}, { scopes: ["chat"] });
    expect((await call("/v1/sessions", { method: "POST", headers: t.headers, body: "{}" })).status).toBe(403);
    expect((await call("/v1/sessions", { headers: t.headers })).status).toBe(403);
  });

  it("a chat completion with session_id uses the session's history and appends the turn (JSON and streamed)", async () => {
    const t = await newTenant();
    const s = await createSession(t);
    const first = await call("/v1/chat/completions", {
      method: "POST",
      headers: t.headers,
      body: chatBody(withDirective("my name is Ada", { text: "Nice to meet you, Ada." }), { session_id: s.id }),
    });
    expect(first.status).toBe(200);
    expect(((await first.json()) as { choices: { message: { content: string } }[] }).choices[0]!.message.content).toBe("Nice to meet you, Ada.");
    const mockId = `sess-chat-${s.id}`;
    const second = await call("/v1/chat/completions", {
      method: "POST",
      headers: t.headers,
      body: chatBody(withDirective("what is my name?", { id: mockId, text: "Your name is Ada." }), { session_id: s.id, stream: true }),
    });
    const chunks = (await readSse(second)) as { choices?: { delta?: { content?: string } }[] }[];
    expect(chunks.map((c) => c.choices?.[0]?.delta?.content ?? "").join("")).toBe("Your name is Ada.");
    const page = await waitForMessages(t, s.id, 4);
    expect(page.map((m) => [m.role, m.content])).toEqual([
      ["user", withDirective("my name is Ada", { text: "Nice to meet you, Ada." })],
      ["assistant", "Nice to meet you, Ada."],
      ["user", withDirective("what is my name?", { id: mockId, text: "Your name is Ada." })],
      ["assistant", "Your name is Ada."],
    ]);
    // Pagination of messages by seq.
    const p1 = (await (await call(`/v1/sessions/${s.id}/messages?limit=3`, { headers: t.headers })).json()) as { data: { seq: number }[]; has_more: boolean };
    expect(p1.has_more).toBe(true);
    const p2 = (await (await call(`/v1/sessions/${s.id}/messages?after=${p1.data.at(-1)!.seq}`, { headers: t.headers })).json()) as { data: unknown[]; has_more: boolean };
    expect(p2).toMatchObject({ data: [{ role: "assistant" }], has_more: false });
  });
});

describe("a client's tools across a session's turns", () => {
  const tools = [{ type: "function", function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } } }];
  type Sent = { body: { messages: { role: string; tool_calls?: { id: string }[]; tool_call_id?: string }[] } };
  const sentTo = async (id: string) => (await (await fetch(`${inject("upstreamUrl").replace(/\/v1$/, "")}/__requests?id=${id}`)).json()) as Sent[];

  for (const stream of [false, true]) {
    it(`the answer's tool calls are kept, so the next request's tool results follow them (${stream ? "streamed" : "JSON"})`, async () => {
      const t = await newTenant();
      const s = await createSession(t);
      const mockId = `sess-tools-${s.id}`;
      const ask = withDirective("weather in Oslo?", { id: mockId, script: [{ tool_calls: [{ name: "get_weather", arguments: { city: "Oslo" } }] }, { echoTools: true }] });
      const first = await call("/v1/chat/completions", { method: "POST", headers: t.headers, body: chatBody(ask, { session_id: s.id, tools, stream }) });
      type Calls = { tool_calls?: { id?: string }[] };
      const calls = stream
        ? ((await readSse(first)) as { choices?: { delta?: Calls }[] }[]).flatMap((c) => c.choices?.[0]?.delta?.tool_calls ?? [])
        : ((await first.json()) as { choices: { message: Calls }[] }).choices[0]!.message.tool_calls ?? [];
      const callId = calls.find((c) => c.id)!.id!;
      await waitForMessages(t, s.id, 2); // the answer is recorded

      // The client sends only its tool's result, as the session holds the rest.
      const result = { role: "tool", tool_call_id: callId, content: "3°C and clear" };
      const second = await call("/v1/chat/completions", { method: "POST", headers: t.headers, body: JSON.stringify({ model: "mock-model", session_id: s.id, tools, messages: [result] }) });
      expect(second.status).toBe(200);
      expect(((await second.json()) as { choices: { message: { content: string } }[] }).choices[0]!.message.content).toBe("3°C and clear");
      const upstream = (await sentTo(mockId)).at(-1)!.body.messages;
      expect(upstream.map((m) => m.role)).toEqual(["user", "assistant", "tool"]);
      expect(upstream[1]!.tool_calls?.map((c) => c.id)).toEqual([callId]);

      const page = (await waitForMessages(t, s.id, 4)) as { role: string; tool_calls?: { function: { name: string } }[]; tool_call_id?: string }[];
      expect(page.map((m) => [m.role, m.tool_calls?.[0]?.function.name ?? m.tool_call_id ?? null])).toEqual([
        ["user", null],
        ["assistant", "get_weather"],
        ["tool", callId],
        ["assistant", null],
      ]);
    });
  }
});

describe("a client's tools left unanswered", () => {
  it("a new question instead of the tool's result: the calls are left out of what the model sees, not sent unanswered", async () => {
    const t = await newTenant();
    const s = await createSession(t);
    const tools = [{ type: "function", function: { name: "get_weather", parameters: { type: "object" } } }];
    const ask = withDirective("weather in Oslo?", { script: [{ tool_calls: [{ name: "get_weather", arguments: {} }] }] });
    expect((await call("/v1/chat/completions", { method: "POST", headers: t.headers, body: chatBody(ask, { session_id: s.id, tools }) })).status).toBe(200);
    await waitForMessages(t, s.id, 2);
    const mockId = `sess-unanswered-${s.id}`;
    const next = await call("/v1/chat/completions", { method: "POST", headers: t.headers, body: chatBody(withDirective("never mind: hello", { id: mockId, text: "Hello." }), { session_id: s.id }) });
    expect(next.status).toBe(200);
    const sent = (await (await fetch(`${inject("upstreamUrl").replace(/\/v1$/, "")}/__requests?id=${mockId}`)).json()) as { body: { messages: { role: string; tool_calls?: unknown }[] } }[];
    expect(sent.at(-1)!.body.messages.map((m) => [m.role, m.tool_calls ?? null])).toEqual([["user", null], ["assistant", null], ["user", null]]);
  });
});

async function waitForMessages(t: TenantFixture, id: string, n: number) {
  for (let i = 0; i < 100; i++) {
    const page = (await (await call(`/v1/sessions/${id}/messages`, { headers: t.headers })).json()) as { data: { role: string; content: string }[] };
    if (page.data.length >= n) return page.data;
    await new Promise((r) => setTimeout(r, 30));
  }
  throw new Error("messages did not arrive");
}

describe("/v1/sessions/:id/ws through the gateway", () => {
  it("authenticates with the Authorization header and streams a turn", async () => {
    const t = await newTenant();
    const s = await createSession(t);
    const c = SessionClient.from(await socket(s.id, { authorization: t.headers.authorization! }));
    await c.waitFor((f) => f.type === "ready");
    c.send({ type: "chat", id: "w1", content: withDirective("hi", { text: "streamed over the gateway" }) });
    await c.waitFor((f) => f.type === "message" && f.role === "assistant");
    expect(textOf(c.frames, "w1")).toBe("streamed over the gateway");
    c.close();
  });

  it("a turn cancelled from a socket answers its HTTP caller 409 cancelled with x-should-retry: false, so an OpenAI SDK does not run it again", async () => {
    const t = await newTenant();
    const s = await createSession(t);
    const requestId = `cancel-me-${crypto.randomUUID()}`;
    const pending = call("/v1/chat/completions", {
      method: "POST",
      headers: { ...t.headers, "x-request-id": requestId },
      body: chatBody(withDirective("a long essay, please", { delayMs: 20_000 }), { session_id: s.id }),
    });
    await waitForMessages(t, s.id, 1);
    const c = SessionClient.from(await socket(s.id, { authorization: t.headers.authorization! }));
    await c.waitFor((f) => f.type === "ready");
    c.send({ type: "cancel", id: requestId });
    const res = await pending;
    expect([res.status, res.headers.get("x-should-retry")]).toEqual([409, "false"]);
    expect(await res.json()).toMatchObject({ error: { code: "cancelled" } });
    c.close();
  });

  it("scopes: a sessions-only key's socket listens but starts no turn; a chat-only key cannot reach a session by session_id", async () => {
    const t = await newTenant();
    const s = await createSession(t);
    const keyWith = async (scopes: string[]) => (await admin<{ key: string }>("POST", `/admin/tenants/${t.tenantId}/keys`, { name: scopes.join("+"), scopes })).key;
    const listenOnly = { authorization: `Bearer ${await keyWith(["sessions"])}` };
    const listener = SessionClient.from(await socket(s.id, listenOnly));
    await listener.waitFor((f) => f.type === "ready");
    listener.send({ type: "chat", id: "nope", content: "hi" });
    expect(await listener.waitFor((f) => f.type === "error")).toMatchObject({ id: "nope", code: "forbidden" });
    listener.close();
    const chatOnly = { authorization: `Bearer ${await keyWith(["chat"])}`, "content-type": "application/json" };
    const res = await call("/v1/chat/completions", { method: "POST", headers: chatOnly, body: chatBody("hi", { session_id: s.id }) });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ error: { code: "insufficient_scope" } });
    expect((await call("/v1/chat/completions", { method: "POST", headers: chatOnly, body: chatBody("hi") })).status).toBe(200);
    expect((await (await call(`/v1/sessions/${s.id}/messages`, { headers: t.headers })).json()) as object).toMatchObject({ data: [] });

    // Nor does a sessions-only socket stop a turn another key started (and pays for).
    const watcher = SessionClient.from(await socket(s.id, listenOnly));
    const talker = SessionClient.from(await socket(s.id, { authorization: t.headers.authorization! }));
    await Promise.all([watcher, talker].map((c) => c.waitFor((f) => f.type === "ready")));
    talker.send({ type: "chat", id: "paid", content: withDirective("hi", { text: "answered in full", delayMs: 1000 }) });
    await talker.waitFor((f) => f.type === "message" && f.role === "user");
    watcher.send({ type: "cancel", id: "paid" });
    expect(await watcher.waitFor((f) => f.type === "error" && f.id === "paid")).toMatchObject({ code: "forbidden" });
    await talker.waitFor((f) => f.type === "message" && f.role === "assistant");
    expect(textOf(talker.frames, "paid")).toBe("answered in full");
    talker.close();
    watcher.close();
  }, 20_000);

  it("authenticates a browser with a one-time ticket: valid once, for its session only, not after expiry", async () => {
    const t = await newTenant();
    const s = await createSession(t);
    const other = await createSession(t);
    const { ticket, expires_at } = await ticketFor(t, s.id);
    expect(expires_at - Date.now()).toBeGreaterThan(50_000);
    expect(expires_at - Date.now()).toBeLessThanOrEqual(60_000);
    const c = SessionClient.from(await socket(s.id, {}, `?ticket=${ticket}`));
    await c.waitFor((f) => f.type === "ready" && f.session_id === s.id);
    c.close();
    const reused = await socket(s.id, {}, `?ticket=${ticket}`);
    expect(reused.status).toBe(401);
    const wrong = await ticketFor(t, s.id);
    expect((await socket(other.id, {}, `?ticket=${wrong.ticket}`)).status).toBe(401);
    expect((await socket(s.id, {}, `?ticket=${wrong.ticket}`)).status).toBe(401);
    const old = await ticketFor(t, s.id);
    await DB.prepare("UPDATE session_tickets SET expires_at = ? WHERE session_id = ?").bind(Date.now() - 1, s.id).run();
    expect((await socket(s.id, {}, `?ticket=${old.ticket}`)).status).toBe(401);
    // A ticket stands for its key: once the key is revoked, its unused tickets stop working too.
    const pending = await ticketFor(t, s.id);
    await admin("DELETE", `/admin/tenants/${t.tenantId}/keys/${t.keyId}`);
    expect((await socket(s.id, {}, `?ticket=${pending.ticket}`)).status).toBe(401);
  });

  it("refuses requests that are not upgrades, lack credentials, or exceed the per-session socket limit", async () => {
    const t = await newTenant();
    const s = await createSession(t);
    const plain = await call(`/v1/sessions/${s.id}/ws`, { headers: t.headers });
    expect(plain.status).toBe(426);
    expect(await plain.json()).toMatchObject({ error: { code: "upgrade_required" } });
    expect((await socket(s.id, {})).status).toBe(401);
    const open = [SessionClient.from(await socket(s.id, t.headers)), SessionClient.from(await socket(s.id, t.headers))];
    const third = await socket(s.id, t.headers);
    expect(third.status).toBe(429);
    expect(await third.json()).toMatchObject({ error: { code: "session_socket_limit", type: "rate_limit_error" } });
    expect([third.headers.get("retry-after"), third.headers.get("retry-after-ms")]).toEqual(["5", "5000"]);
    // A browser's upgrade by ticket is logged with its tenant, as one by API key is.
    const lines: string[] = [];
    const spy = vi.spyOn(console, "log").mockImplementation((line: unknown) => void lines.push(String(line)));
    const byTicket = await socket(s.id, { "x-request-id": "ticket-log-1" }, `?ticket=${(await ticketFor(t, s.id)).ticket}`);
    spy.mockRestore();
    expect(byTicket.status).toBe(429);
    const access = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((e) => e.requestId === "ticket-log-1" && e.msg === "request");
    expect(access).toMatchObject({ tenantId: t.tenantId, status: 429 });
    for (const c of open) c.close();
  });
});

describe("unknown session ids", () => {
  it("are answered 404 from D1's index on every route, without addressing a session object (that would create one)", async () => {
    const t = await newTenant();
    const addressed: string[] = [];
    const real = (env as unknown as { SESSIONS: DurableObjectNamespace }).SESSIONS;
    const SESSIONS = { idFromName: (n: string) => (addressed.push(n), real.idFromName(n)), get: (id: DurableObjectId) => real.get(id) };
    const send = async (path: string, init: RequestInit = {}) => {
      const ctx = createExecutionContext();
      const res = await gatewayApp.fetch(new Request(`https://cio.test${path}`, { ...init, headers: { ...t.headers, ...(init.headers as object) } }), { ...env, SESSIONS }, ctx);
      await waitOnExecutionContext(ctx);
      return res;
    };
    const responses = [
      await send("/v1/sessions/sess_nope"),
      await send("/v1/sessions/sess_nope/messages"),
      await send("/v1/sessions/sess_nope", { method: "DELETE" }),
      await send("/v1/sessions/sess_nope/ticket", { method: "POST" }),
      await send("/v1/sessions/sess_nope/ws", { headers: { upgrade: "websocket" } }),
    ];
    for (const res of responses) expect(await res.json()).toMatchObject({ error: { type: "not_found_error", code: "session_not_found" } });
    expect(responses.map((r) => r.status)).toEqual([404, 404, 404, 404, 404]);
    const council = await send("/v1/councils", { method: "POST", body: JSON.stringify({ question: "q?", options: ["A", "B"], max_rounds: 1, session_id: "sess_nope", assistants: [
      { id: "alpha", persona: "You are alpha.", model: "mock-model" },
      { id: "beta", persona: "You are beta.", model: "mock-model" },
    ] }) });
    expect(council.status).toBe(400);
    expect(await council.json()).toMatchObject({ error: { param: "session_id", code: "session_not_found" } });
    expect(addressed).toEqual([]);
    // A session that exists is still reached.
    const s = await createSession(t);
    expect((await send(`/v1/sessions/${s.id}`)).status).toBe(200);
    expect(addressed).toHaveLength(1);
  });
});

describe("tenant isolation", () => {
  it("another tenant's session id answers 404 on every route and on the WebSocket", async () => {
    const owner = await newTenant();
    const intruder = await newTenant();
    const s = await createSession(owner);
    const h = intruder.headers;
    const statuses = await Promise.all([
      call(`/v1/sessions/${s.id}`, { headers: h }),
      call(`/v1/sessions/${s.id}/messages`, { headers: h }),
      call(`/v1/sessions/${s.id}`, { method: "DELETE", headers: h }),
      call(`/v1/sessions/${s.id}/ticket`, { method: "POST", headers: h }),
      socket(s.id, h),
      call("/v1/chat/completions", { method: "POST", headers: h, body: chatBody("hi", { session_id: s.id }) }),
    ]);
    expect(statuses.map((r) => r.status)).toEqual([404, 404, 404, 404, 404, 404]);
    const listed = (await (await call("/v1/sessions", { headers: h })).json()) as { data: unknown[] };
    expect(listed.data).toEqual([]);
    // The owner's session is untouched.
    expect((await call(`/v1/sessions/${s.id}`, { headers: owner.headers })).status).toBe(200);
    // A ticket is bound to its tenant: the owner's ticket does not open a same-id session elsewhere.
    const { ticket } = await ticketFor(owner, s.id);
    const c = SessionClient.from(await socket(s.id, {}, `?ticket=${ticket}`));
    await c.waitFor((f) => f.type === "ready");
    c.close();
  });
});
