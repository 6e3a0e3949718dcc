import { describe, expect, it } from "vitest";
import { HubToRunnerFrameSchema, parseFrame, PING_FRAME, PONG_FRAME, RunnerToHubFrameSchema } from "../../lib/protocol/runner.ts";

describe("runner protocol schemas", () => {
  const query = { type: "query", id: "q", requestId: "r", maxRows: 10, maxBytes: 100, timeoutMs: 1000 };

  it("accepts a query with exactly one of sql or named", () => {
    expect(HubToRunnerFrameSchema.safeParse({ ...query, sql: "SELECT 1" }).success).toBe(true);
    expect(HubToRunnerFrameSchema.safeParse({ ...query, named: "n", params: { a: 1 } }).success).toBe(true);
    expect(HubToRunnerFrameSchema.safeParse(query).success).toBe(false);
    expect(HubToRunnerFrameSchema.safeParse({ ...query, sql: "SELECT 1", named: "n" }).success).toBe(false);
  });

  it("bounds credits and rejects unknown frame types", () => {
    expect(HubToRunnerFrameSchema.safeParse({ type: "ack", id: "q", credits: 0 }).success).toBe(false);
    expect(HubToRunnerFrameSchema.safeParse({ type: "hello-ack", credits: 4 }).success).toBe(true);
    expect(parseFrame(HubToRunnerFrameSchema, '{"type":"drop-tables"}')).toMatchObject({ ok: false });
    expect(parseFrame(HubToRunnerFrameSchema, "{")).toEqual({ ok: false, error: "frame is not valid JSON" });
  });

  it("heartbeats are exact strings that parse as frames", () => {
    expect(parseFrame(RunnerToHubFrameSchema, PING_FRAME)).toEqual({ ok: true, frame: { type: "ping" } });
    expect(parseFrame(HubToRunnerFrameSchema, PONG_FRAME)).toEqual({ ok: true, frame: { type: "pong" } });
  });
});
