/**
 * What the tool tells a server about itself, and what it passes on when a server refuses: Workers' fetch()
 * sends no User-Agent, and GitHub's API (the example prefix in wrangler.toml) answers every request
 * without one 403, whose body, not its status, says why.
 */
import { exports } from "cloudflare:workers";
import { afterEach, describe, expect, inject, it, vi } from "vitest";
import { defaultTool, expectFail, expectOk, toolInput } from "../../../../test/support/tools/tool-call.js";
import { refusalReason } from "../../../../lib/tools/refusal-reason.js";

const tool = defaultTool(exports);
const base = inject("upstreamUrl");

afterEach(() => vi.restoreAllMocks());

describe("User-Agent", () => {
  // The recorded route answers as GitHub does: the JSON with cio-edge-http-json/<version>, a 403 without.
  it("names the tool and its version, which GitHub's API requires", async () => {
    const r = expectOk(await tool.execute(toolInput({ url: `${base}/api/repos/octo/agent-required`, expression: "[0].tag_name" })));
    expect(r.content).toBe('"v1.2.0"');
  });
});

describe("a refusal's reason", () => {
  it("quotes the start of a 4xx body after the status", async () => {
    const e = expectFail(await tool.execute(toolInput({ url: `${base}/api/missing` })));
    expect(e).toMatchObject({ code: "upstream_rejected", message: 'the server answered HTTP 404 Not Found: {"message":"Not Found"}' });
  });

  it("cuts a long body at 200 characters, on one line, reading only its start", async () => {
    let pulled = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled++;
        controller.enqueue(new TextEncoder().encode(`line\r\n\ttab\u0000\u202e${"x".repeat(1_000)}`));
      },
    });
    const why = await refusalReason(new Response(body, { status: 400, headers: { "content-type": "text/plain" } }));
    expect(why).toBe(`line tab ${"x".repeat(191)}…`);
    expect(pulled).toBeLessThan(3);
  });

  it.each([
    ["a 5xx (most often a proxy's error page)", 502, "text/html"],
    ["a body that is no text", 403, "image/png"],
  ])("quotes nothing of %s", async (_what, status, type) => {
    expect(await refusalReason(new Response("<h1>Bad Gateway</h1>", { status, headers: { "content-type": type } }))).toBe("");
  });
});
