import { env } from "cloudflare:workers";
import { describe, expect, inject, it } from "vitest";
import { withDirective } from "../../../test/mock-upstream/directive";
import { call, chatBody, newTenant, readSse, type TenantFixture } from "../../../test/support/fixtures";
import { eventually } from "../../../test/support/eventually";

type Chunk = { id: string; object: string; model: string; choices: { delta: { role?: string; content?: string }; finish_reason: string | null }[]; usage?: Record<string, number> };

const post = (t: TenantFixture, body: string, headers: Record<string, string> = {}) =>
  call("/v1/chat/completions", { method: "POST", headers: { ...t.headers, ...headers }, body });

async function mockLog(id: string) {
  const res = await fetch(`${inject("upstreamUrl").replace(/\/v1$/, "")}/__requests?id=${id}`);
  return (await res.json()) as { body: Record<string, unknown>; aborted: boolean; completed: boolean }[];
}

async function usageRows(tenantId: string) {
  return (await (env as unknown as { DB: D1Database }).DB.prepare("SELECT * FROM usage WHERE tenant_id = ?").bind(tenantId).all()).results;
}

describe("GET /v1/models", () => {
  it("lists cio/auto and the passthrough models in OpenAI's list shape", async () => {
    const t = await newTenant();
    const res = await call("/v1/models", { headers: t.headers });
    const body = (await res.json()) as { object: string; data: { id: string; object: string }[] };
    expect(body.object).toBe("list");
    expect(body.data.map((m) => m.id)).toEqual(["cio/auto", "cio/council", "mock-model", "mock-other"]);
    expect(body.data.every((m) => m.object === "model")).toBe(true);
  });

  it("retrieves one model by id, URL-encoded (as the SDKs send it) or with a raw slash; an unknown one is a 404", async () => {
    const t = await newTenant();
    for (const path of ["/v1/models/cio%2Fauto", "/v1/models/cio/auto"]) {
      const res = await call(path, { headers: t.headers });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ id: "cio/auto", object: "model", owned_by: expect.any(String), created: expect.any(Number) });
    }
    expect(await (await call("/v1/models/mock-model", { headers: t.headers })).json()).toMatchObject({ id: "mock-model", object: "model" });
    for (const path of ["/v1/models/gpt-nope", "/v1/models/cio%2Fnope", "/v1/models/cio/nope", "/v1/models/@cf/meta/llama-nope"]) {
      const res = await call(path, { headers: t.headers });
      expect(res.status).toBe(404);
      expect(await res.json()).toMatchObject({ error: { param: "model", code: "model_not_found" } });
    }
    expect((await call("/v1/models/cio%2Fauto")).status).toBe(401);
    expect((await call("/v1/models/cio%2Fauto", { method: "DELETE", headers: t.headers })).status).toBe(405);
  });
});

describe("POST /v1/chat/completions (JSON)", () => {
  it("relays a passthrough model, passing unknown fields on, and reports overhead", async () => {
    const t = await newTenant();
    const id = crypto.randomUUID();
    const res = await post(t, chatBody(withDirective("hello there", { id }), { logit_bias: { "50256": -100 }, vendor_extension: { a: 1 } }), { "x-request-id": `req-${id}` });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { id: string; object: string; model: string; choices: { message: { content: string } }[]; usage: Record<string, number> };
    expect(body.object).toBe("chat.completion");
    expect(body.model).toBe("mock-model");
    expect(body.choices[0]!.message.content).toBe("Echo: hello there");
    expect(body.usage.total_tokens).toBeGreaterThan(0);
    expect(Number(res.headers.get("x-cio-overhead-ms"))).toBeGreaterThanOrEqual(0);
    const [sent] = await mockLog(id);
    expect(sent!.body.vendor_extension).toEqual({ a: 1 });
    expect(sent!.body.logit_bias).toEqual({ "50256": -100 });
    expect(sent!.body.session_id).toBeUndefined();
  });

  it("passes a deprecated function message on to a passthrough model as it is; cio/auto, whose answers call tools, refuses it on its role", async () => {
    const t = await newTenant();
    const id = crypto.randomUUID();
    const messages = [
      { role: "user", content: "Weather in Oslo?" },
      { role: "assistant", content: null, function_call: { name: "get_weather", arguments: '{"city":"Oslo"}' } },
      { role: "function", name: "get_weather", content: "3°C" },
      { role: "function", name: "get_time", content: null },
      { role: "user", content: withDirective("And now?", { id }) },
    ];
    const res = await post(t, JSON.stringify({ model: "mock-model", messages }));
    expect(res.status).toBe(200);
    const [sent] = await mockLog(id);
    expect(sent!.body.messages).toEqual(messages);

    const auto = await post(t, JSON.stringify({ model: "cio/auto", messages }));
    expect(auto.status).toBe(400);
    expect(await auto.json()).toMatchObject({ error: { type: "invalid_request_error", code: "unsupported_parameter", param: "messages[2].role", message: expect.stringContaining("'tool' message") } });
    const unnamed = await post(t, JSON.stringify({ model: "mock-model", messages: [{ role: "function", content: "3°C" }] }));
    expect(await unnamed.json()).toMatchObject({ error: { param: "messages[0].name" } });
  });

  it("takes null for every parameter OpenAI documents as nullable, as its SDKs may send it", async () => {
    const t = await newTenant();
    const nulls = Object.fromEntries(
      ["stream", "stream_options", "temperature", "top_p", "n", "max_tokens", "max_completion_tokens", "stop", "presence_penalty", "frequency_penalty", "seed"].map((k) => [k, null]),
    );
    for (const model of ["mock-model", "cio/auto"]) {
      const res = await post(t, chatBody("hello", { model, ...nulls }));
      expect({ model, status: res.status }).toEqual({ model, status: 200 });
      expect(await res.json()).toMatchObject({ object: "chat.completion" });
    }
  });

  it("refuses stream_options on a call that does not stream, as OpenAI does, and asks no model", async () => {
    const t = await newTenant();
    const id = crypto.randomUUID();
    for (const stream of [undefined, false, null]) {
      const res = await post(t, chatBody(withDirective("hi", { id }), { stream, stream_options: { include_usage: true } }));
      expect({ stream, status: res.status }).toEqual({ stream, status: 400 });
      expect(await res.json()).toMatchObject({ error: { type: "invalid_request_error", param: "stream_options", message: expect.stringContaining("only allowed when 'stream' is enabled") } });
    }
    expect(await mockLog(id)).toHaveLength(0);
  });

  it("checks tool_choice's shape as OpenAI does: an unknown mode or a malformed object is a 400 saying what is wrong, and asks no model", async () => {
    const t = await newTenant();
    const id = crypto.randomUUID();
    const tools = [{ type: "function", function: { name: "get_weather" } }];
    const cases: [string, unknown, string][] = [
      ["mock-model", "bogus", `expected 'none', 'auto', 'required' or an object naming tools (type 'function', 'custom' or 'allowed_tools'), not "bogus".`],
      ["cio/auto", "bogus", "not \"bogus\""],
      ["mock-model", { type: "allowed_tools", allowed_tools: { mode: "sometimes", tools } }, "at allowed_tools.mode: "],
      ["mock-model", { type: "function" }, "at function: "],
      ["mock-model", { type: "mystery" }, "at type: "],
    ];
    for (const [model, tool_choice, message] of cases) {
      const res = await post(t, JSON.stringify({ model, messages: [{ role: "user", content: withDirective("hi", { id }) }], tools, tool_choice }));
      expect({ tool_choice, status: res.status }).toEqual({ tool_choice, status: 400 });
      expect(await res.json()).toMatchObject({ error: { type: "invalid_request_error", param: "tool_choice", message: expect.stringContaining(message) } });
    }
    expect(await mockLog(id)).toHaveLength(0);
    // The shapes OpenAI takes pass on to a passthrough model as they were sent.
    const allowed = { type: "allowed_tools", allowed_tools: { mode: "auto", tools: [{ type: "function", function: { name: "get_weather" } }] } };
    expect((await post(t, JSON.stringify({ model: "mock-model", messages: [{ role: "user", content: withDirective("hi", { id }) }], tools, tool_choice: allowed }))).status).toBe(200);
    expect((await mockLog(id))[0]!.body.tool_choice).toEqual(allowed);
  });

  it("refuses log probabilities and audio output on cio/auto and cio/council as unsupported parameters, instead of answering without them", async () => {
    const t = await newTenant();
    const cases: [string, Record<string, unknown>, string][] = [
      ["cio/auto", { logprobs: true }, "logprobs"],
      ["cio/auto", { logprobs: true, top_logprobs: 3 }, "logprobs"],
      ["cio/auto", { top_logprobs: 0 }, "top_logprobs"],
      ["cio/auto", { modalities: ["text", "audio"], audio: { voice: "alloy", format: "mp3" } }, "audio"],
      ["cio/auto", { modalities: ["text", "audio"] }, "modalities"],
      ["cio/council", { logprobs: true }, "logprobs"],
    ];
    for (const [model, extra, param] of cases) {
      const res = await post(t, chatBody("hello", { model, ...extra }));
      expect({ model, extra, status: res.status }).toEqual({ model, extra, status: 400 });
      expect(await res.json()).toMatchObject({ error: { type: "invalid_request_error", param, code: "unsupported_parameter" } });
    }
    // What asks for nothing extra still answers.
    const plain = await post(t, chatBody("hello", { model: "cio/auto", logprobs: false, modalities: ["text"] }));
    expect(plain.status).toBe(200);
  });

  it("passes n on to a passthrough model: n choices, each with the role in its first streamed delta", async () => {
    const t = await newTenant();
    const plain = await post(t, chatBody("hello there", { n: 3 }));
    expect(plain.status).toBe(200);
    const body = await plain.json<{ choices: { index: number; message: { role: string; content: string } }[] }>();
    expect(body.choices.map((c) => [c.index, c.message.content])).toEqual([[0, "Echo: hello there"], [1, "Echo: hello there #1"], [2, "Echo: hello there #2"]]);

    const res = await post(t, chatBody("hello there", { n: 2, stream: true }));
    const chunks = (await readSse(res)).filter((e): e is { choices: { index: number; delta: { role?: string; content?: string }; finish_reason: string | null }[] } => typeof e === "object");
    for (const index of [0, 1]) {
      const mine = chunks.flatMap((c) => c.choices.filter((x) => x.index === index));
      expect({ index, role: mine[0]?.delta.role }).toEqual({ index, role: "assistant" });
      expect(mine.slice(1).every((x) => x.delta.role === undefined)).toBe(true);
      expect(mine.map((x) => x.delta.content ?? "").join("")).toBe(index ? "Echo: hello there #1" : "Echo: hello there");
      expect(mine.at(-1)!.finish_reason).toBe("stop");
    }
    // An upstream that reports no usage: the estimate counts every choice's text, as the upstream bills all n.
    const estimate = async (n: number) =>
      (await (await post(t, chatBody(withDirective("one two three four five six", { noUsage: true }), { n }))).json<{ usage: { completion_tokens: number } }>()).usage.completion_tokens;
    expect(await estimate(3)).toBeGreaterThan(2 * (await estimate(1)));
  });

  it("refuses n > 1 where one answer is made: cio/auto, cio/council and a turn of a session; and n past 128", async () => {
    const t = await newTenant();
    for (const model of ["cio/auto", "cio/council"]) {
      const res = await post(t, chatBody("hello", { model, n: 2 }));
      expect({ model, status: res.status }).toEqual({ model, status: 400 });
      expect(await res.json()).toMatchObject({ error: { type: "invalid_request_error", param: "n", code: "unsupported_parameter" } });
    }
    const inSession = await post(t, chatBody("hello", { n: 2, session_id: "sess_any" }));
    expect(inSession.status).toBe(400);
    expect(await inSession.json()).toMatchObject({ error: { type: "invalid_request_error", param: "n" } });
    expect((await post(t, chatBody("hello", { n: 129 }))).status).toBe(400);
    expect((await post(t, chatBody("hello", { model: "cio/auto", n: 1 }))).status).toBe(200);
  });

  it("records prompt and completion tokens per tenant and day", async () => {
    const t = await newTenant();
    await post(t, chatBody("count me"));
    await post(t, chatBody("and me"));
    const rows = await eventually(() => usageRows(t.tenantId), (r) => r.length > 0 && (r[0] as { requests: number }).requests === 2);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ model: "mock-model", requests: 2, day: new Date().toISOString().slice(0, 10) });
    expect((rows[0] as { completion_tokens: number }).completion_tokens).toBeGreaterThan(0);
  });

  it("404 model_not_found for an unknown model, naming the param", async () => {
    const t = await newTenant();
    const res = await post(t, JSON.stringify({ model: "gpt-9", messages: [{ role: "user", content: "hi" }] }));
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: "model_not_found", param: "model", type: "not_found_error" } });
  });

  it("retries an upstream that fails transiently, then answers", async () => {
    const t = await newTenant();
    const id = crypto.randomUUID();
    const res = await post(t, chatBody(withDirective("retry me", { id, failTimes: 2, status: 503 })));
    expect(res.status).toBe(200);
    expect(await mockLog(id)).toHaveLength(3);
  });

  it("an upstream that keeps failing becomes a 502 upstream error after the retries", async () => {
    const t = await newTenant();
    const id = crypto.randomUUID();
    const res = await post(t, chatBody(withDirective("fail", { id, status: 500 })));
    expect(res.status).toBe(502);
    expect(await res.json()).toMatchObject({ error: { type: "upstream_error" } });
    expect(await mockLog(id)).toHaveLength(3);
  });

  it("an upstream 200 whose body is not a chat completion is the upstream's fault (502), and frees the slot", async () => {
    const t = await newTenant({}, { concurrency_limit: 1 });
    for (const rawBody of ["<html>502 Bad Gateway</html>", '{"object":"list","data":[]}', '{"choices":[{"mess']) {
      const res = await post(t, chatBody(withDirective("broken", { rawBody })));
      expect({ rawBody, status: res.status }).toEqual({ rawBody, status: 502 });
      expect(await res.json()).toMatchObject({ error: { type: "upstream_error", code: "upstream_bad_response" } });
    }
    const next = await eventually(async () => (await post(t, chatBody("fine"))).status, (s) => s === 200);
    expect(next).toBe(200);
  });

  it("an overloaded upstream's 503 retry-after is honoured: a short one waited out, a long one passed on at once with both headers", async () => {
    const t = await newTenant();
    const brief = crypto.randomUUID();
    const started = Date.now();
    const res = await post(t, chatBody(withDirective("brief", { id: brief, status: 503, failTimes: 1, errorHeaders: { "retry-after-ms": "700" } })));
    expect(res.status).toBe(200);
    expect(await mockLog(brief)).toHaveLength(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(700); // the backoff alone is a fraction of that

    const long = crypto.randomUUID();
    const busy = await post(t, chatBody(withDirective("busy", { id: long, status: 503, retryAfter: "30" })));
    expect(busy.status).toBe(502);
    expect(await busy.json()).toMatchObject({ error: { type: "upstream_error", message: expect.stringContaining("HTTP 503") } });
    expect([busy.headers.get("retry-after"), busy.headers.get("retry-after-ms")]).toEqual(["30", "30000"]);
    expect(await mockLog(long)).toHaveLength(1); // not asked again twice in the next second
  });

  it("an upstream 429 asking for a long wait is passed on at once with both retry headers, as OpenAI's SDKs read them", async () => {
    const t = await newTenant();
    const id = crypto.randomUUID();
    const res = await post(t, chatBody(withDirective("busy", { id, status: 429, retryAfter: "7" })));
    expect(res.status).toBe(429);
    expect(await res.json()).toMatchObject({ error: { type: "rate_limit_error", code: "upstream_rate_limited" } });
    expect([res.headers.get("retry-after"), res.headers.get("retry-after-ms")]).toEqual(["7", "7000"]);
    expect(await mockLog(id)).toHaveLength(1); // not asked again in the same second, twice
  });

  it("an upstream 429 with a short wait is waited out and retried; a spent quota is passed on with its code, not to be retried", async () => {
    const t = await newTenant();
    const id = crypto.randomUUID();
    const started = Date.now();
    const res = await post(t, chatBody(withDirective("brief", { id, status: 429, failTimes: 1, errorHeaders: { "retry-after-ms": "300" } })));
    expect(res.status).toBe(200);
    expect(await mockLog(id)).toHaveLength(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);

    const quota = crypto.randomUUID();
    const spent = await post(t, chatBody(withDirective("broke", { id: quota, status: 429, errorCode: "insufficient_quota", errorMessage: "You exceeded your current quota." })));
    expect(spent.status).toBe(429);
    expect(await spent.json()).toMatchObject({ error: { type: "rate_limit_error", code: "insufficient_quota", message: expect.stringContaining("exceeded your current quota") } });
    expect(spent.headers.get("x-should-retry")).toBe("false");
    expect(await mockLog(quota)).toHaveLength(1);
  });

  it("upstream error bodies in other servers' shapes become OpenAI's: a message, and a code that is a string or null", async () => {
    const t = await newTenant();
    const cases = [
      { errorBody: JSON.stringify({ object: "error", message: "too long", type: "BadRequestError", param: null, code: 400 }), message: "too long", code: "400" },
      { errorBody: JSON.stringify({ error: { message: "too long", code: 400 } }), message: "too long", code: "400" },
      { errorBody: "<html><body><h1>400 Bad Request</h1></body></html>", message: "HTTP 400 Bad Request", code: null },
    ];
    for (const c of cases) {
      const res = await post(t, chatBody(withDirective("odd", { status: 400, errorBody: c.errorBody })));
      expect(res.status).toBe(400);
      expect((await res.json()) as unknown).toMatchObject({ error: { message: c.message, code: c.code } });
    }
  });

  it("an upstream 400 is the client's fault: passed on as a 400, not retried", async () => {
    const t = await newTenant();
    const id = crypto.randomUUID();
    const res = await post(t, chatBody(withDirective("bad", { id, status: 400, errorMessage: "max_tokens is too large" })));
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { type: "invalid_request_error", message: "max_tokens is too large" } });
    expect(await mockLog(id)).toHaveLength(1);
  });

  it("a non-streamed answer slower than the header timeout is waited for (its headers come with the whole answer), asked once", async () => {
    const t = await newTenant();
    const id = `slow-answer-${crypto.randomUUID().slice(0, 8)}`;
    const res = await post(t, chatBody(withDirective("slow", { delayMs: 2600, id })));
    expect(res.status).toBe(200);
    expect(await mockLog(id)).toHaveLength(1);
  }, 15_000);

  it("an upstream past the answer timeout (non-streamed) or the header timeout (streamed) is a 504, asked once: never retried", async () => {
    const t = await newTenant();
    for (const [stream, delayMs] of [[false, 6600], [true, 2600]] as const) {
      const id = `timeout-${stream}-${crypto.randomUUID().slice(0, 8)}`;
      const res = await post(t, chatBody(withDirective("slow", { delayMs, id }), { stream }));
      expect({ stream, status: res.status }).toEqual({ stream, status: 504 });
      expect(await res.json()).toMatchObject({ error: { code: "upstream_timeout" } });
      // The upstream had the request all along and may still be generating it: a retry doubled wait and bill.
      expect(await mockLog(id)).toHaveLength(1);
    }
  }, 20_000);

  it("the request id travels over the service binding to the upstream (x-client-request-id); completion ids are ours, never the client's", async () => {
    const t = await newTenant();
    const id = crypto.randomUUID();
    const res = await post(t, chatBody(withDirective("hi", { id })), { "x-request-id": "trace-abc-123" });
    expect(res.headers.get("x-request-id")).toBe("trace-abc-123");
    await res.arrayBuffer();
    expect((await mockLog(id)).map((r) => (r as unknown as { headers: Record<string, string> }).headers["x-client-request-id"])).toEqual(["trace-abc-123"]);
    // A client's (or a proxy's reused) x-request-id made the answers' ids: chatcmpl-traceabc123, twice.
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const auto = await post(t, JSON.stringify({ model: "cio/auto", messages: [{ role: "user", content: "hi" }] }), { "x-request-id": "trace-abc-123" });
      ids.push(((await auto.json()) as { id: string }).id);
    }
    expect(ids[0]).toMatch(/^chatcmpl-[0-9a-f]{24}$/);
    expect(ids[0]).not.toBe(ids[1]);
  });

  it("passes GPT-5's custom tools and their calls to a passthrough model; cio/auto, which calls functions only, refuses them", async () => {
    const t = await newTenant();
    const id = crypto.randomUUID();
    const tools = [{ type: "custom", custom: { name: "code_exec", description: "Runs Python" } }];
    const messages = [
      { role: "user", content: "Compute 2+2." },
      { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "custom", custom: { name: "code_exec", input: "print(2+2)" } }] },
      { role: "tool", tool_call_id: "call_1", content: "4" },
      { role: "user", content: withDirective("And now?", { id }) },
    ];
    const res = await post(t, JSON.stringify({ model: "mock-model", messages, tools }));
    expect(res.status).toBe(200);
    const [sent] = await mockLog(id);
    expect(sent!.body).toMatchObject({ tools, messages: [{}, { tool_calls: [{ type: "custom", custom: { input: "print(2+2)" } }] }, {}, {}] });

    const auto = await post(t, JSON.stringify({ model: "cio/auto", messages: [{ role: "user", content: "hi" }], tools }));
    expect(auto.status).toBe(400);
    expect(await auto.json()).toMatchObject({ error: { code: "unsupported_tool_type", param: "tools[0].type" } });
    const unknown = await post(t, JSON.stringify({ model: "mock-model", messages: [{ role: "user", content: "hi" }], tools: [{ type: "mystery" }] }));
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toMatchObject({ error: { param: "tools[0].type" } });
  });

  it("cio/auto is answered by the builtin provider, which says no model was used", async () => {
    const t = await newTenant();
    const res = await post(t, JSON.stringify({ model: "cio/auto", messages: [{ role: "user", content: "What is the capital of France?" }] }));
    const body = (await res.json()) as { choices: { message: { content: string } }[]; cio: { provider: string } };
    expect(res.status).toBe(200);
    expect(body.choices[0]!.message.content).toContain("no language model was used");
    expect(body.cio.provider).toBe("builtin");
  });
});

describe("POST /v1/chat/completions (SSE)", () => {
  function checkStream(events: unknown[], { usage }: { usage: boolean }) {
    expect(events.at(-1)).toBe("[DONE]");
    const chunks = events.slice(0, -1) as Chunk[];
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
    expect(chunks.every((c) => c.object === "chat.completion.chunk")).toBe(true);
    expect(chunks[0]!.choices[0]!.delta.role).toBe("assistant");
    expect(chunks.some((c) => c.choices[0]?.finish_reason === "stop")).toBe(true);
    const usageChunks = chunks.filter((c) => c.usage);
    if (usage) {
      expect(usageChunks).toHaveLength(1);
      expect(usageChunks[0]!.choices).toEqual([]);
      expect(chunks.at(-1)).toBe(usageChunks[0]);
    } else expect(usageChunks).toHaveLength(0);
    return chunks.map((c) => c.choices[0]?.delta.content ?? "").join("");
  }

  it("streams exactly as OpenAI does, without usage unless asked", async () => {
    const t = await newTenant();
    const id = crypto.randomUUID();
    const res = await post(t, chatBody(withDirective("one two three", { id }), { stream: true }));
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    expect(checkStream(await readSse(res), { usage: false })).toBe("Echo: one two three");
    const [sent] = await mockLog(id);
    expect(sent!.body.stream_options).toEqual({ include_usage: true }); // always asked upstream, for accounting
  });

  it("adds the usage chunk with choices [] when stream_options.include_usage is set", async () => {
    const t = await newTenant();
    const res = await post(t, chatBody("four five", { stream: true, stream_options: { include_usage: true } }));
    expect(checkStream(await readSse(res), { usage: true })).toBe("Echo: four five");
  });

  it("tolerates comment lines and usage on the last content chunk", async () => {
    const t = await newTenant();
    const res = await post(t, chatBody(withDirective("six seven", { comments: true, usageOnLastChunk: true }), { stream: true }));
    expect(checkStream(await readSse(res), { usage: false })).toBe("Echo: six seven");
  });

  it("estimates usage when the upstream reports none, and still records it", async () => {
    const t = await newTenant();
    const res = await post(t, chatBody(withDirective("eight", { noUsage: true }), { stream: true, stream_options: { include_usage: true } }));
    checkStream(await readSse(res), { usage: true });
    const rows = await eventually(() => usageRows(t.tenantId), (r) => r.length > 0);
    expect((rows[0] as { completion_tokens: number }).completion_tokens).toBeGreaterThan(0);
  });

  it("sends an error after the stream started as data: {error}", async () => {
    const t = await newTenant();
    const res = await post(t, chatBody(withDirective("a b c d", { errorAfter: 2 }), { stream: true }));
    const events = await readSse(res);
    const last = events.at(-1) as { error?: { type: string; message: string; code: string } };
    expect(last.error?.type).toBe("upstream_error");
    expect(last.error?.code).toBe("mock_failure"); // the upstream's own code, for clients that branch on it
    expect(events).not.toContain("[DONE]");
  });

  it("stamps every chunk, the usage chunk too, with the stream's one created time and system_fingerprint", async () => {
    const t = await newTenant();
    const res = await post(t, chatBody("a b c", { stream: true, stream_options: { include_usage: true } }));
    const chunks = (await readSse(res)).filter((e): e is Chunk & { created: number; system_fingerprint?: string } => typeof e === "object");
    expect(chunks.at(-1)!.usage).toBeDefined();
    expect(new Set(chunks.map((c) => `${c.created} ${c.system_fingerprint}`))).toEqual(new Set(["1700000000 fp_mock"]));
  });

  it("an upstream stream that closes before it finished (no finish_reason, no [DONE]) is an error, not a whole answer", async () => {
    const t = await newTenant();
    const res = await post(t, chatBody(withDirective("a b c d", { text: "one two three four", endAfter: 2 }), { stream: true }));
    const events = await readSse(res);
    expect(events.at(-1)).toMatchObject({ error: { type: "upstream_error", message: "The model stream ended before the answer finished." } });
    expect(events).not.toContain("[DONE]");
    const finishes = events.flatMap((e) => (e as Chunk).choices?.map((c) => c.finish_reason) ?? []);
    expect(finishes.filter(Boolean)).toEqual([]);
  });

  it("cio/auto streams token by token", async () => {
    const t = await newTenant();
    const res = await post(t, JSON.stringify({ model: "cio/auto", stream: true, messages: [{ role: "user", content: "hello" }] }));
    const text = checkStream(await readSse(res), { usage: false });
    expect(text).toContain("no language model was used");
  });

  it("a client that disconnects cancels the upstream request", async () => {
    const t = await newTenant();
    const id = crypto.randomUUID();
    const words = Array.from({ length: 200 }, (_, i) => `w${i}`).join(" ");
    const res = await post(t, chatBody(withDirective(words, { id, text: words, chunkDelayMs: 20 }), { stream: true }));
    const reader = res.body!.getReader();
    await reader.read();
    await reader.cancel();
    const log = await eventually(() => mockLog(id), (l) => l[0]?.aborted === true, 5000);
    expect(log[0]!.aborted).toBe(true);
    expect(log[0]!.completed).toBe(false);
    // The upstream bills what it was asked and had answered: an estimate of it is booked, not nothing.
    const rows = (await eventually(() => usageRows(t.tenantId), (r) => r.length > 0)) as { requests: number; prompt_tokens: number; completion_tokens: number }[];
    expect(rows).toHaveLength(1);
    expect(rows[0]!.requests).toBe(1);
    expect(rows[0]!.prompt_tokens).toBeGreaterThan(100);
    expect(rows[0]!.completion_tokens).toBeGreaterThan(0);
    expect(rows[0]!.completion_tokens).toBeLessThan(100);
  });
});
