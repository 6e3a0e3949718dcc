import { describe, expect, it } from "vitest";
import { decodeRows, parseRows } from "../../../lib/protocol/runner-rows.ts";
import { MESSAGE_BYTES_MAX, type RunnerFrame } from "../../../lib/protocol/runner.ts";
import { silentLogger } from "../log.ts";
import { noAudit, Policy, PolicyConfigSchema } from "../policy/index.ts";
import { docsDriver } from "../test-support/docs-driver.ts";
import { QueryExecutor } from "./executor.ts";

/**
 * An executor over `tables` whose hub takes frames of at most `maxFrameBytes` (none said: an older hub) and acks
 * each; its policy allows a streamed query's bytes (the hub asks for all there are), as a customer's may.
 */
function executor(tables: Record<string, string[]>, maxFrameBytes?: number) {
  const sent: { text: RunnerFrame[]; frameSizes: number[]; ids: unknown[] } = { text: [], frameSizes: [], ids: [] };
  const { driver } = docsDriver((sql) => tables[/FROM (\w+)/.exec(sql)![1]!]!);
  const policy = new Policy(PolicyConfigSchema.parse({ maxBytes: 1e9 }), "sqlite", "main");
  const exec: QueryExecutor = new QueryExecutor(
    {
      driver, policy, audit: noAudit, log: silentLogger(),
      chunkRows: 500, frameBytes: 512 * 1024, maxConcurrent: 1, credits: () => 4,
      ...(maxFrameBytes ? { maxFrameBytes: () => maxFrameBytes } : {}),
    },
    (data) => {
      if (typeof data === "string") return void sent.text.push(JSON.parse(data) as RunnerFrame);
      const d = decodeRows(data);
      if (!d.ok) throw new Error(d.error);
      const rows = parseRows(d.chunk.body, d.chunk.header.count);
      if (!rows.ok) throw new Error(rows.error);
      sent.frameSizes.push(data.length);
      sent.ids.push(...rows.rows.map((r) => r[0]));
      setImmediate(() => exec.ack({ type: "ack", id: d.chunk.header.id, credits: 1 }));
    },
  );
  const run = (id: string, maxBytes = 1e9) =>
    exec.run({ type: "query", id, requestId: `req-${id}`, sql: `SELECT id, body FROM ${id}`, maxRows: 1_000_000, maxBytes, timeoutMs: 10_000 });
  const last = (type: "done" | "error") => sent.text.filter((f) => f.type === type).at(-1);
  return { exec, sent, run, last };
}

describe("rows wider than a frame may be", () => {
  it("fails the query as row_too_large, sends no frame past the hub's limit, and runs the next query", async () => {
    const limit = 32 * 1024;
    const { exec, sent, run, last } = executor({ wide: ["a", "b", "x".repeat(40 * 1024), "c"], narrow: ["d", "e"] }, limit);
    await run("wide");
    expect(last("error")).toMatchObject({ id: "wide", code: "row_too_large", message: expect.stringMatching(/^row 3 is \d+ bytes as JSON, more than the 31744 bytes/) });
    expect(last("done")).toBeUndefined();
    expect(sent.ids).not.toContain(2);
    expect(Math.max(0, ...sent.frameSizes)).toBeLessThanOrEqual(limit);
    expect(exec.active).toBe(0);

    // The executor (and the connection it belongs to) goes on: a query of rows that fit runs as ever.
    await run("narrow");
    expect(last("done")).toMatchObject({ id: "narrow", rowCount: 2, truncated: false });
  });

  it("keeps to the WebSocket message limit when the hub does not say its own", async () => {
    const { sent, run, last } = executor({ huge: ["a", "x".repeat(MESSAGE_BYTES_MAX)] });
    await run("huge");
    expect(last("error")).toMatchObject({ code: "row_too_large" });
    expect(sent.ids).not.toContain(1);
    expect(Math.max(0, ...sent.frameSizes)).toBeLessThanOrEqual(MESSAGE_BYTES_MAX);
  });

  it("ends the result at maxBytes rather than fail it when the wide row would not fit anyway", async () => {
    const { sent, run, last } = executor({ capped: ["a", "x".repeat(40 * 1024)] }, 32 * 1024);
    await run("capped", 20 * 1024);
    expect(last("error")).toBeUndefined();
    expect(last("done")).toMatchObject({ rowCount: 1, truncated: true, truncatedBy: "maxBytes" });
    expect(sent.ids).toEqual([0]);
  });
});
