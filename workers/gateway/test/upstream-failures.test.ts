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
