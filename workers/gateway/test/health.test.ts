import { describe, expect, it } from "vitest";
import { call } from "../../../test/support/fixtures";

describe("health", () => {
  it("GET /health answers without auth", async () => {
    const res = await call("/health");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
    expect(res.headers.get("x-request-id")).toBeTruthy();
  });

  it("GET /health/deep checks D1, the orchestrator and a Durable Object", async () => {
    const res = await call("/health/deep");
    const body = (await res.json()) as { status: string; checks: Record<string, { ok: boolean }> };
    expect(res.status).toBe(200);
    expect(body.status).toBe("ok");
    for (const name of ["d1", "durable_object", "orchestrator", "orchestrator.d1", "orchestrator.durable_object"]) {
      expect(body.checks[name]?.ok, name).toBe(true);
    }
  });
});
