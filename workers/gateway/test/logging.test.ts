import { afterEach, describe, expect, it, vi } from "vitest";
import { call, chatBody, newTenant } from "../../../test/support/fixtures";

afterEach(() => vi.restoreAllMocks());

describe("JSON logs", () => {
  it("writes one JSON line per request with ts, level, component, requestId and tenantId", async () => {
    const t = await newTenant();
    const lines: string[] = [];
    vi.spyOn(console, "log").mockImplementation((line: unknown) => void lines.push(String(line)));
    // The tests log at "warn", so a failing request (a 404 for an unknown model) is what shows.
    await call("/v1/chat/completions", { method: "POST", headers: { ...t.headers, "x-request-id": "log-test-1" }, body: chatBody("hi", { model: "nope" }) });
    const events = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((e) => e.requestId === "log-test-1");
    const access = events.find((e) => e.msg === "request");
    expect(access).toMatchObject({ level: "warn", component: "gateway", requestId: "log-test-1", tenantId: t.tenantId, status: 404, path: "/v1/chat/completions" });
    expect(typeof access!.ts).toBe("string");
  });
});
