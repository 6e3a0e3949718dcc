/**
 * How a passthrough upstream's failures reach the client: a timeout of the upstream's as a timeout, an error
 * it sends in a 200 as that error (its message and code kept), and a rejection of this platform's own
 * credentials with `x-should-retry: false`, over the orchestrator's RPC to the gateway's response.
 */
import { describe, expect, inject, it } from "vitest";
import { withDirective } from "../../../test/mock-upstream/directive";
import { call, chatBody, newTenant, type TenantFixture } from "../../../test/support/fixtures";

const post = (t: TenantFixture, body: string) => call("/v1/chat/completions", { method: "POST", headers: t.headers, body });
const asked = async (id: string) => ((await (await fetch(`${inject("upstreamUrl").replace(/\/v1$/, "")}/__requests?id=${id}`)).json()) as unknown[]).length;

describe("an upstream timeout that outlasts the retries", () => {
  for (const status of [504, 408]) {
    it(`${status}: a 504 upstream_timeout to the client, after the retries`, async () => {
      const t = await newTenant();
      const id = crypto.randomUUID();
      const res = await post(t, chatBody(withDirective("slow", { id, status, errorMessage: "the gateway gave up" })));
      expect(res.status).toBe(504);
      expect(await res.json()).toMatchObject({ error: { type: "upstream_error", code: "upstream_timeout", message: expect.stringContaining("the gateway gave up") } });
      expect(await asked(id)).toBe(3); // the first call and CIO_UPSTREAM_RETRIES (2) more
    });
  }
});

describe("a 200 whose body is an error", () => {
  const tooLong = JSON.stringify({ error: { message: "This model's maximum context length is 8192 tokens.", type: "invalid_request_error", param: "messages", code: "context_length_exceeded" } });
  const overloaded = JSON.stringify({ error: { message: "The server is overloaded.", code: "server_overloaded" } });

  for (const stream of [false, true]) {
    it(`${stream ? "a stream request answered in plain JSON" : "non-streamed"}: the request's fault is the 400 it would have been, with its message and code`, async () => {
      const t = await newTenant();
      const res = await post(t, chatBody(withDirective("long", { rawBody: tooLong }), { stream }));
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error: { type: "invalid_request_error", code: "context_length_exceeded", param: "messages", message: "This model's maximum context length is 8192 tokens." } });
    });

    it(`${stream ? "a stream request answered in plain JSON" : "non-streamed"}: the upstream's own failure is a 502 that keeps its message and code`, async () => {
      const t = await newTenant();
      const res = await post(t, chatBody(withDirective("busy", { rawBody: overloaded }), { stream }));
      expect(res.status).toBe(502);
      expect(await res.json()).toMatchObject({ error: { type: "upstream_error", code: "server_overloaded", message: expect.stringContaining("The server is overloaded.") } });
    });
  }

  it("a body that is neither a completion nor an error is still a 502 upstream_bad_response", async () => {
    const t = await newTenant();
    const res = await post(t, chatBody(withDirective("odd", { rawBody: JSON.stringify({ hello: "world" }) })));
    expect(res.status).toBe(502);
    expect(await res.json()).toMatchObject({ error: { code: "upstream_bad_response" } });
  });
});

describe("an upstream that rejects this platform's credentials", () => {
  for (const status of [401, 403]) {
    it(`${status}: a 502 upstream_auth the client's SDK is told not to retry, asked once`, async () => {
      const t = await newTenant();
      const id = crypto.randomUUID();
      const res = await post(t, chatBody(withDirective("key", { id, status, errorMessage: "Incorrect API key provided." })));
      expect(res.status).toBe(502);
      expect(await res.json()).toMatchObject({ error: { code: "upstream_auth" } });
      expect(res.headers.get("x-should-retry")).toBe("false");
      expect(await asked(id)).toBe(1);
    });
  }
});
