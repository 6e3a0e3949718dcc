import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { withDirective } from "../../../test/mock-upstream/directive";
import app from "../src/index";
import { call, chatBody, newTenant, readSse, type TenantFixture } from "../../../test/support/fixtures";

const post = (t: TenantFixture, body = chatBody("hi")) => call("/v1/chat/completions", { method: "POST", headers: t.headers, body });
const statuses = (rs: Response[]) => rs.map((r) => r.status);
const count = (xs: number[], v: number) => xs.filter((x) => x === v).length;

describe("rate limits are exact under concurrency", () => {
  it("admits no more concurrent requests per key than its limit", async () => {
    const t = await newTenant({}, { concurrency_limit: 3, rpm_limit: 1000 });
    const slow = chatBody(withDirective("slow", { delayMs: 400 }));
    const rs = await Promise.all(Array.from({ length: 25 }, () => post(t, slow)));
    const s = statuses(rs);
    expect(count(s, 200)).toBe(3);
    expect(count(s, 429)).toBe(22);
    const rejected = rs.find((r) => r.status === 429)!;
    expect(rejected.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(Number(rejected.headers.get("retry-after-ms"))).toBeGreaterThan(0);
    expect(rejected.headers.get("x-should-retry")).toBeNull();
    expect(rejected.headers.get("x-ratelimit-limit-requests")).toBeNull(); // 3 is not a per-minute limit
    expect(await rejected.json()).toMatchObject({ error: { type: "rate_limit_error", code: "key_concurrency" } });
    // Slots are released once the answers are done.
    expect((await post(t)).status).toBe(200);
  });

  it("admits exactly the requests-per-minute limit out of a concurrent burst", async () => {
    const t = await newTenant({}, { rpm_limit: 7 });
    const rs = await Promise.all(Array.from({ length: 40 }, () => post(t)));
    const s = statuses(rs);
    expect(count(s, 200)).toBe(7);
    expect(count(s, 429)).toBe(33);
    const rejected = rs.find((r) => r.status === 429)!;
    expect(await rejected.json()).toMatchObject({ error: { code: "key_rpm" } });
    expect(Number(rejected.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(Number(rejected.headers.get("retry-after"))).toBeLessThanOrEqual(60);
    expect(rejected.headers.get("x-ratelimit-limit-requests")).toBe("7");
    expect(rejected.headers.get("x-ratelimit-remaining-requests")).toBe("0");
    expect(rejected.headers.get("x-ratelimit-reset-requests")).toBe(`${rejected.headers.get("retry-after")}s`);
    const ok = rs.find((r) => r.status === 200)!;
    expect(ok.headers.get("x-ratelimit-limit-requests")).toBe("7");
  });

  it("the tenant limit spans all of its keys", async () => {
    const t = await newTenant({ rpm_limit: 5 }, { rpm_limit: 100 });
    const second = await call(`/admin/tenants/${t.tenantId}/keys`, {
      method: "POST",
      headers: { authorization: "Bearer test-admin-token", "content-type": "application/json" },
      body: JSON.stringify({ name: "second", rpm_limit: 100 }),
    });
    const key2 = ((await second.json()) as { key: string }).key;
    const t2 = { ...t, headers: { ...t.headers, authorization: `Bearer ${key2}` } };
    const rs = await Promise.all(Array.from({ length: 12 }, (_, i) => post(i % 2 ? t : t2)));
    expect(count(statuses(rs), 200)).toBe(5);
    expect(await rs.find((r) => r.status === 429)!.json()).toMatchObject({ error: { code: "tenant_rpm" } });
  });

  it("tenant concurrency spans keys too, and other tenants are unaffected", async () => {
    const a = await newTenant({ concurrency_limit: 2 });
    const b = await newTenant({ concurrency_limit: 2 });
    const slow = chatBody(withDirective("slow", { delayMs: 300 }));
    const rs = await Promise.all([...Array.from({ length: 10 }, () => post(a, slow)), ...Array.from({ length: 2 }, () => post(b, slow))]);
    const s = statuses(rs);
    expect(count(s.slice(0, 10), 200)).toBe(2);
    expect(count(s.slice(10), 200)).toBe(2);
  });

  it("a streamed answer holds its slot until the stream ends", async () => {
    const t = await newTenant({}, { concurrency_limit: 1 });
    const res = await post(t, chatBody(withDirective("a b c d e", { chunkDelayMs: 30 }), { stream: true }));
    expect(res.status).toBe(200);
    expect((await post(t)).status).toBe(429); // the stream is still open
    await readSse(res);
    await new Promise((r) => setTimeout(r, 50));
    expect((await post(t)).status).toBe(200);
  });

  it("a client keeping within its concurrency limit is never refused, though slots free after the answer is out", async () => {
    // Limited to one in flight, one request after another: each next request reaches the limiter before the
    // previous answer's settlement (sent from the orchestrator, batched by CIO_SETTLE_BATCH_MS) does.
    const t = await newTenant({}, { concurrency_limit: 1, rpm_limit: 1000 });
    const seen: number[] = [];
    for (let i = 0; i < 12; i++) {
      const res = await post(t, chatBody(`q${i}`, { stream: i % 2 === 1 }));
      await res.text(); // the whole answer, as a client reads it
      seen.push(res.status);
    }
    expect(seen).toEqual(Array(12).fill(200));
  });

  it("an exhausted daily token budget answers 429 with x-should-retry: false", async () => {
    const t = await newTenant({ daily_token_budget: 5 });
    expect((await post(t, chatBody("a long enough question to use up the tiny budget at once"))).status).toBe(200);
    let res: Response | undefined;
    for (let i = 0; i < 40; i++) {
      res = await post(t);
      if (res.status === 429) break;
      await new Promise((r) => setTimeout(r, 25)); // usage is recorded after the answer, off the hot path
    }
    expect(res!.status).toBe(429);
    expect(res!.headers.get("x-should-retry")).toBe("false");
    // The budget counts tokens: it is reported as a token limit, never as requests.
    expect(res!.headers.get("x-ratelimit-limit-tokens")).toBe("5");
    expect(res!.headers.get("x-ratelimit-remaining-tokens")).toBe("0");
    expect(res!.headers.get("x-ratelimit-limit-requests")).toBeNull();
    expect(await res!.json()).toMatchObject({ error: { code: "budget_exceeded", type: "rate_limit_error" } });
    // The usage behind the decision reaches D1 with the limiter's next flush.
    const sum = () => (env as unknown as { DB: D1Database }).DB.prepare("SELECT SUM(prompt_tokens + completion_tokens) AS n FROM usage WHERE tenant_id = ?").bind(t.tenantId).first<{ n: number | null }>();
    let n = 0;
    for (let i = 0; i < 100 && n < 5; i++, await new Promise((r) => setTimeout(r, 20))) n = (await sum())?.n ?? 0;
    expect(n).toBeGreaterThanOrEqual(5);
  });
});

describe("a stream that breaks frees its slot", () => {
  it("frees the slot of a stream whose orchestrator died mid-way, which never settles it", async () => {
    const t = await newTenant({}, { concurrency_limit: 1, rpm_limit: 1000 });
    // The orchestrator's isolate dying mid-answer, as the gateway sees it: a reply stream that errors and no
    // settlement ever coming.
    const broken = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode('data: {"id":"x","choices":[]}\n\n'));
        c.error(new Error("Network connection lost."));
      },
    });
    const orchestrator = { chat: async () => ({ kind: "stream", body: broken, upstreamMs: 0 }) };
    const ctx = createExecutionContext();
    const res = await app.fetch(
      new Request("https://cio.test/v1/chat/completions", { method: "POST", headers: t.headers, body: chatBody("hi", { stream: true }) }),
      { ...env, ORCHESTRATOR: orchestrator },
      ctx,
    );
    expect(res.status).toBe(200);
    await expect(res.text()).rejects.toThrow();
    await waitOnExecutionContext(ctx);
    // The key's one slot is free again: not a 429 key_concurrency until CIO_LEASE_TTL_MS.
    const next = await post(t);
    expect(next.status, await next.clone().text()).toBe(200);
  });

  it("keeps the slot of a session's streamed turn whose client left, until the turn (which goes on) ends", async () => {
    const t = await newTenant({}, { concurrency_limit: 1, rpm_limit: 1000 });
    const session = async () => {
      const res = await call("/v1/sessions", { method: "POST", headers: t.headers, body: JSON.stringify({ model: "mock-model" }) });
      return ((await res.json()) as { id: string }).id;
    };
    const slow = withDirective("slow", { text: "one two three four five six seven eight", chunkDelayMs: 60 });
    const first = await post(t, chatBody(slow, { stream: true, session_id: await session() }));
    expect(first.status).toBe(200);
    const reader = first.body!.getReader();
    await reader.read();
    await reader.cancel();
    await new Promise((r) => setTimeout(r, 150));
    // The first turn still runs (it is recorded whole into its session): a second one on the key is refused.
    const second = await post(t, chatBody(slow, { stream: true, session_id: await session() }));
    expect(second.status, await second.clone().text()).toBe(429);
    expect(await second.json()).toMatchObject({ error: { code: "key_concurrency" } });
    // Once it ended, the slot is free.
    let third = second;
    for (let i = 0; i < 40 && third.status === 429; i++, await new Promise((r) => setTimeout(r, 50))) third = await post(t);
    expect(third.status).toBe(200);
  });
});
