/**
 * GET /health/deep needs no credentials: a failed check tells anyone only that it failed, and its detail (a
 * dependency's own error, naming tables, bindings, tool Workers) goes to the log with the request id, and to
 * a caller sending the admin token.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import app from "../src/index";
import { ADMIN } from "../../../test/support/fixtures";

afterEach(() => vi.restoreAllMocks());

const D1_ERROR = "D1_ERROR: no such table: api_keys: SQLITE_ERROR";
const TOOL_ERROR = "TOOL_BROKEN: Error: no such Worker";
const brokenDb = { prepare: () => ({ first: () => Promise.reject(new Error(D1_ERROR)) }) };
const brokenOrchestrator = { health: async () => ({ ok: false, checks: { d1: { ok: true, ms: 1 }, tool_workers: { ok: false, ms: 2, error: TOOL_ERROR } } }) };

type Deep = { status: string; checks: Record<string, { ok: boolean; ms: number; error?: string }> };

async function deep(headers: Record<string, string> = {}): Promise<{ status: number; text: string; body: Deep; logged: Record<string, unknown>[] }> {
  const lines: string[] = [];
  vi.spyOn(console, "log").mockImplementation((line: unknown) => void lines.push(String(line)));
  const ctx = createExecutionContext();
  const req = new Request("https://cio.test/health/deep", { headers: { "x-request-id": "deep-1", ...headers } });
  const res = await app.fetch(req, { ...env, DB: brokenDb, ORCHESTRATOR: brokenOrchestrator }, ctx);
  await waitOnExecutionContext(ctx);
  const text = await res.text();
  vi.restoreAllMocks();
  return { status: res.status, text, body: JSON.parse(text) as Deep, logged: lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe("GET /health/deep when dependencies fail", () => {
  it("tells a caller without credentials which checks failed, and nothing of why", async () => {
    const r = await deep();
    expect(r.status).toBe(503);
    expect(r.body.status).toBe("degraded");
    expect(r.body.checks.d1).toEqual({ ok: false, ms: expect.any(Number), error: "failed" });
    expect(r.body.checks["orchestrator.tool_workers"]).toEqual({ ok: false, ms: 2, error: "failed" });
    expect(r.body.checks.orchestrator).toMatchObject({ ok: false, error: "failed" });
    expect(r.body.checks["orchestrator.d1"]).toEqual({ ok: true, ms: 1 });
    expect(r.body.checks.durable_object).toMatchObject({ ok: true });
    for (const secret of ["no such table", "api_keys", "TOOL_BROKEN", "no such Worker"]) expect(r.text).not.toContain(secret);
  });

  it("logs each failure's detail with the request id", async () => {
    const { logged } = await deep();
    const failures = logged.filter((l) => l.msg === "health check failed");
    expect(failures).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ level: "error", requestId: "deep-1", check: "d1", error: expect.stringContaining(D1_ERROR) }),
        expect.objectContaining({ level: "error", requestId: "deep-1", check: "orchestrator.tool_workers", error: TOOL_ERROR }),
      ]),
    );
  });

  it("shows the detail to a caller sending the admin token, and not to one sending another token", async () => {
    const admin = await deep({ authorization: ADMIN.authorization });
    expect(admin.status).toBe(503);
    expect(admin.body.checks.d1?.error).toContain(D1_ERROR);
    expect(admin.body.checks["orchestrator.tool_workers"]?.error).toBe(TOOL_ERROR);
    const other = await deep({ authorization: "Bearer not-the-admin-token" });
    expect(other.body.checks.d1?.error).toBe("failed");
  });
});
