import { createExecutionContext, env } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { describe, expect, inject, it } from "vitest";
import { defaultTool, expectFail, expectOk, toolInput, validManifest } from "../../../../test/support/tools/tool-call.js";
import { retryDelayMs } from "../../../../lib/http/retry-delay.js";
import { parseArgs } from "../../../orchestrator/src/dispatcher/validate.js";
import HttpJsonTool from "../src/index.js";
import type { Env } from "../src/settings.js";

const tool = defaultTool(exports);
const base = inject("upstreamUrl");
const toolWith = (overrides: Partial<Env>) =>
  new HttpJsonTool(createExecutionContext(), { ...(env as Env), ...overrides });

describe("manifest", () => {
  it("asks for a URL and an optional expression", async () => {
    const m = await validManifest(tool);
    expect(m.name).toBe("http-json");
    expect(m.parameters).toMatchObject({ required: ["url"], additionalProperties: false });
  });

  // The dispatcher checks calls against the manifest before they reach the tool: it must not refuse what the tool takes.
  it("lets the dispatcher pass every URL the tool takes, such as ones with spaces or umlauts that fetch() encodes", async () => {
    const m = await validManifest(tool);
    for (const url of [`${base}/api/repos/cloudflare/workers-sdk/releases?city=München`, `${base}/api/repos/cloudflare/workers-sdk/releases?q=new york`]) {
      expect(parseArgs(m, JSON.stringify({ url }))).toEqual({ ok: true, args: { url } });
      expectOk(await tool.execute(toolInput({ url })));
    }
    expect(parseArgs(m, JSON.stringify({ url: 42 }))).toMatchObject({ ok: false });
    // What is no URL the tool still refuses itself.
    expect(expectFail(await tool.execute(toolInput({ url: "not a url" })))).toMatchObject({ code: "invalid_arguments" });
  });
});

describe("allowed URLs", () => {
  it("returns the whole document without an expression", async () => {
    const r = expectOk(await tool.execute(toolInput({ url: `${base}/api/v3/simple/price?ids=bitcoin,ethereum` })));
    expect(r.data).toMatchObject({ status: 200, result: { bitcoin: { usd: 96025 }, ethereum: { usd: 3621.4 } } });
    expect(JSON.parse(r.content)).toEqual((r.data as { result: unknown }).result);
  });

  it("reshapes with JMESPath", async () => {
    const r = expectOk(
      await tool.execute(
        toolInput({
          url: `${base}/api/repos/cloudflare/workers-sdk/releases`,
          expression: "[?!prerelease].{tag: tag_name, published: published_at}",
        }),
      ),
    );
    expect((r.data as { result: unknown }).result).toEqual([
      { tag: "wrangler@4.164.0", published: "2026-11-10T15:04:37Z" },
      { tag: "miniflare@5.20261110.0", published: "2026-11-10T15:04:31Z" },
    ]);
  });

  it("answers a scalar result as its JSON text", async () => {
    const url = `${base}/api/v3/simple/price?ids=bitcoin,ethereum`;
    const r = expectOk(await tool.execute(toolInput({ url, expression: "bitcoin.usd" })));
    expect(r.content).toBe("96025");
  });

  it("follows a redirect that stays inside the allow-list", async () => {
    const r = expectOk(await tool.execute(toolInput({ url: `${base}/api/moved`, expression: "length(@)" })));
    expect(r.data).toMatchObject({ url: `${base}/api/repos/cloudflare/workers-sdk/releases`, result: 3 });
  });

  it("truncates long content but keeps the full result in data", async () => {
    const r = expectOk(await toolWith({ HTTP_JSON_MAX_BYTES: "300000" }).execute(toolInput({ url: `${base}/api/big.json` })));
    expect(r.content.length).toBeLessThan(4_200);
    expect(r.content).toContain("truncated at 4000 characters");
    expect((r.data as { result: { pad: string } }).result.pad).toHaveLength(200_000);
  });
});

describe("the allow-list", () => {
  it("takes a prefix without a trailing slash as a whole path segment: /v3/simple allows /v3/simple/…, not /v3/simple-admin", async () => {
    const narrow = toolWith({ HTTP_JSON_ALLOW: `${base}/api/v3/simple` });
    expectOk(await narrow.execute(toolInput({ url: `${base}/api/v3/simple/price?ids=bitcoin,ethereum` })));
    const e = expectFail(await narrow.execute(toolInput({ url: `${base}/api/v3/simple-admin/keys` })));
    expect(e).toMatchObject({ code: "not_allowed", message: `${base}/api/v3/simple-admin/keys is not in the allow-list` });
  });

  it.each(["%2f", "%2F", "%5c", "%5C"])("refuses a path with an encoded separator (%s)", async (sep) => {
    const e = expectFail(await tool.execute(toolInput({ url: `${base}/api/..${sep}private${sep}secret.json` })));
    expect(e).toMatchObject({ code: "not_allowed", retryable: false, message: expect.stringContaining("encoded slash or backslash") });
  });

  it.each(["%252f", "%255C", "%25252F"])("refuses a path with a separator encoded more than once (%s)", async (sep) => {
    const e = expectFail(await tool.execute(toolInput({ url: `${base}/api/..${sep}private${sep}secret.json` })));
    expect(e).toMatchObject({ code: "not_allowed", retryable: false, message: expect.stringContaining("encoded slash or backslash") });
  });

  // The URL parser resolves .. and %2e%2e but leaves these; Tomcat, Jetty and Spring strip ;params first.
  it.each(["..;", "..;jsessionid=x", ".;", "%2e%2e;", ".%2E%3b", "..%3B", "%252e%252e", "%252e%252e%253b"])("refuses a path with the dot segment %s", async (dots) => {
    const e = expectFail(await tool.execute(toolInput({ url: `${base}/api/${dots}/private/secret.json` })));
    expect(e).toMatchObject({ code: "not_allowed", retryable: false, message: expect.stringContaining("dot segment") });
  });

  it("refuses escapes encoded past what any server decodes", async () => {
    const e = expectFail(await tool.execute(toolInput({ url: `${base}/api/%${"25".repeat(4)}41/x` })));
    expect(e).toMatchObject({ code: "not_allowed", message: expect.stringContaining("encoded more than 4 times") });
  });

  it("allows matrix parameters, dots and escapes that are no dot segment or separator", async () => {
    for (const path of ["/api/v3;v=2/x", "/api/...;/x", "/api/.well-known/x", "/api/100%25/x", "/api/a%2520b"]) {
      const e = expectFail(await tool.execute(toolInput({ url: `${base}${path}` })));
      expect(e.code).not.toBe("not_allowed");
    }
  });

  it.each([
    [() => `${base}/private/secret.json`, "is not in the allow-list"],
    [() => "http://evil.test/api/v3/simple/price", "is not in the allow-list"],
    [() => `${base.replace("127.0.0.1", "127.0.0.1.evil.test")}/api/`, "is not in the allow-list"],
    [() => `http://user:pass@${base.slice("http://".length)}/api/missing`, "credentials"],
  ])("refuses %s", async (url, message) => {
    const e = expectFail(await tool.execute(toolInput({ url: url() })));
    expect(e).toMatchObject({ code: "not_allowed", retryable: false });
    expect(e.message).toContain(message);
  });

  it("refuses a redirect out of the allow-list", async () => {
    const e = expectFail(await tool.execute(toolInput({ url: `${base}/api/escape` })));
    expect(e).toMatchObject({ code: "not_allowed" });
  });

  it("stops after a few redirects", async () => {
    const e = expectFail(await tool.execute(toolInput({ url: `${base}/api/loop` })));
    expect(e).toMatchObject({ code: "too_many_redirects", retryable: false });
  });

  it("allows nothing when HTTP_JSON_ALLOW is empty", async () => {
    const e = expectFail(await toolWith({ HTTP_JSON_ALLOW: "" }).execute(toolInput({ url: `${base}/api/busy` })));
    expect(e).toMatchObject({ code: "not_allowed", message: "no URL is allowed: the operator has not set HTTP_JSON_ALLOW" });
  });
});

describe("argument validation", () => {
  it.each([
    [{}, "url"],
    [{ url: "not a url" }, "url"],
    [{ url: "ftp://example.com/x.json" }, "url"],
    [{ url: "https://example.com", method: "POST" }, "method"],
  ])("rejects %j", async (args, field) => {
    const e = expectFail(await tool.execute(toolInput(args)));
    expect(e).toMatchObject({ code: "invalid_arguments", retryable: false });
    expect(e.message).toContain(field);
  });

  it("rejects a malformed expression before fetching", async () => {
    const e = expectFail(await tool.execute(toolInput({ url: `${base}/api/slow`, expression: "items[" })));
    expect(e).toMatchObject({ code: "bad_expression", retryable: false });
  });

  it("reports an expression that fails at run time", async () => {
    const url = `${base}/api/v3/simple/price?ids=bitcoin,ethereum`;
    const e = expectFail(await tool.execute(toolInput({ url, expression: "abs(bitcoin)" })));
    expect(e).toMatchObject({ code: "bad_expression", retryable: false });
  });
});

describe("expressions that would outgrow memory", () => {
  const url = () => `${base}/api/v3/simple/price?ids=bitcoin,ethereum`;

  it("refuses a pad width the library would allocate, before fetching", async () => {
    const started = Date.now();
    const e = expectFail(await tool.execute(toolInput({ url: url(), expression: "[pad_left('a', `200000000`, 'x')]" })));
    expect(e).toMatchObject({ code: "bad_expression", retryable: false });
    expect(e.message).toBe("pad_left's width must be a literal number of at most 1000");
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it.each([
    ["pad_right('a', length(@))", "pad_right's width"],
    ["replace('a', 'a', 'b', `100000000`)", "replace's count"],
    ["let $w = `200000000` in pad_left('a', $w)", "pad_left's width"],
  ])("refuses %s", async (expression, message) => {
    const e = expectFail(await tool.execute(toolInput({ url: url(), expression })));
    expect(e).toMatchObject({ code: "bad_expression" });
    expect(e.message).toContain(message);
  });

  it("still pads within the limit", async () => {
    const r = expectOk(await tool.execute(toolInput({ url: url(), expression: "pad_left(to_string(bitcoin.usd), `8`, '0')" })));
    expect(r.content).toBe('"00096025"');
  });

  // Each step doubles what the one before built while the end result stays one number: 2^22 copies of the
  // document (flattened or written out) are far past the isolate's memory. (4 × HTTP_JSON_MAX_BYTES, 100000 here.)
  it.each([
    ["a flattened copy", `[@]${" | [@, @][]".repeat(22)} | length(@)`],
    ["its text", `@${" | [@, @]".repeat(22)} | length(to_string(@))`],
    ["a scoped copy", `let $n = \`1\` in [@]${" | [@, @][]".repeat(22)} | length(@)`],
  ])("refuses an expression whose intermediate values double (%s)", async (_what, expression) => {
    const started = Date.now();
    const e = expectFail(await tool.execute(toolInput({ url: url(), expression })));
    expect(e).toMatchObject({ code: "result_too_large", retryable: false });
    expect(e.message).toContain("builds a value longer than 400000 characters");
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it("still evaluates copies within the bound", async () => {
    const r = expectOk(await tool.execute(toolInput({ url: url(), expression: "[@, @][] | [@, @][] | length(to_string(@))" })));
    expect(Number(r.content)).toBeGreaterThan(400);
  });

  it("refuses a result whose JSON would pass the size limit, without writing it all", async () => {
    const started = Date.now();
    const expression = `@${" | [@, @]".repeat(40)}`;
    const e = expectFail(await tool.execute(toolInput({ url: url(), expression })));
    expect(e).toMatchObject({ code: "result_too_large", retryable: false });
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});

describe("upstream failures and limits", () => {
  it.each([
    ["/api/missing", "upstream_rejected", false],
    ["/api/busy", "upstream_unavailable", true],
  ])("maps %s to %s", async (path, code, retryable) => {
    const e = expectFail(await tool.execute(toolInput({ url: `${base}${path}` })));
    expect(e).toMatchObject({ code, retryable });
  });

  // Retried at once, a 429 only meets the same limit: the wait goes to the model, and to the dispatcher's retry.
  it.each([
    ["/api/limited", false, "; retry after 30 s", 30_000],
    ["/api/limited-briefly", true, "; retry after 1 s", 1_000],
    ["/api/limited-unsaid", true, "", undefined],
  ])("maps a 429 at %s to a rate limit, retryable only when its Retry-After is short", async (path, retryable, wait, retryAfterMs) => {
    const r = await tool.execute(toolInput({ url: `${base}${path}` }));
    expect(expectFail(r)).toMatchObject({ code: "rate_limited", retryable, message: `the server answered HTTP 429 Too Many Requests: {"message":"API rate limit exceeded"}${wait}` });
    expect((r as { error: { retryAfterMs?: number } }).error.retryAfterMs).toBe(retryAfterMs);
  });

  it("reads a Retry-After given as an HTTP date", () => {
    const now = Date.parse("2026-11-14T08:00:00Z");
    const res = new Response(null, { status: 429, headers: { "retry-after": "Sat, 14 Nov 2026 08:00:05 GMT" } });
    expect(retryDelayMs(res.headers, now)).toBe(5_000);
    expect(retryDelayMs(new Headers({ "retry-after": "soon" }), now)).toBeNull();
  });

  it("refuses a body over the size limit", async () => {
    const e = expectFail(await tool.execute(toolInput({ url: `${base}/api/big.json` })));
    expect(e).toMatchObject({ code: "response_too_large", retryable: false });
  });

  it("refuses a body that is not JSON", async () => {
    const e = expectFail(await tool.execute(toolInput({ url: `${base}/api/page.html` })));
    expect(e).toMatchObject({ code: "not_json", retryable: false });
  });

  it("cuts off a slow server at the deadline", async () => {
    const e = expectFail(await tool.execute(toolInput({ url: `${base}/api/slow` }, 300)));
    expect(e).toMatchObject({ code: "deadline_exceeded", retryable: true });
  });
});
