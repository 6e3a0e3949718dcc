/** Runs query frames through a real QueryExecutor (policy + driver) and collects the validated frames. */
import { randomUUID } from "node:crypto";
import { readRowsFrame } from "../../../lib/protocol/runner-rows.ts";
import {
  RunnerToHubFrameSchema, type QueryFrame, type RunnerFrame, type RunnerToHubFrame,
} from "../../../lib/protocol/runner.ts";
import { QueryExecutor } from "../client/executor.ts";
import { ConfigSchema } from "../config/schema.ts";
import type { Driver } from "../drivers/types.ts";
import { silentLogger } from "../log.ts";
import { noAudit, Policy, PolicyConfigSchema, type AuditLog, type PolicyConfigInput } from "../policy/index.ts";

export interface Outcome {
  columns: string[];
  rows: unknown[][];
  done?: Extract<RunnerToHubFrame, { type: "done" }>;
  error?: Extract<RunnerToHubFrame, { type: "error" }>;
  frames: RunnerFrame[];
}

/** Rows frames as a runner fills them by default (tests that count fetches use recordFetches, not frames). */
const FRAME_BYTES = ConfigSchema.shape.connection.parse(undefined).frameBytes;

export function harness(driver: Driver, policy: PolicyConfigInput = {}, opts: { chunkRows?: number; frameBytes?: number; audit?: AuditLog } = {}) {
  const frames: RunnerFrame[] = [];
  const pol = new Policy(PolicyConfigSchema.parse(policy), driver.kind, driver.defaultSchema);
  const exec: QueryExecutor = new QueryExecutor(
    { driver, policy: pol, audit: opts.audit ?? noAudit, log: silentLogger(), chunkRows: opts.chunkRows ?? 100, frameBytes: opts.frameBytes ?? FRAME_BYTES, maxConcurrent: 4, credits: () => 4 },
    (data) => {
      const frame: RunnerFrame = typeof data === "string" ? RunnerToHubFrameSchema.parse(JSON.parse(data)) : readRowsFrame(data);
      frames.push(frame);
      // An eager hub: every chunk is acknowledged as soon as it arrives.
      if (frame.type === "rows") setImmediate(() => exec.ack({ type: "ack", id: frame.id, credits: 1 }));
    },
  );
  const run = async (q: Partial<QueryFrame>): Promise<Outcome> => {
    const id = q.id ?? randomUUID();
    await exec.run({ type: "query", id, requestId: `req-${id}`, maxRows: 1_000_000, maxBytes: 1e9, timeoutMs: 10_000, ...q });
    return outcome(frames.filter((f) => "id" in f && f.id === id));
  };
  return { exec, frames, run, policy: pol };
}

/** Of `sqls`, those the policy did not refuse, with what they answered: the leak tests expect none. */
export async function notRefused(run: (q: Partial<QueryFrame>) => Promise<Outcome>, sqls: readonly string[]) {
  const out: { sql: string; rows: unknown[][]; error?: string }[] = [];
  for (const sql of sqls) {
    const o = await run({ sql });
    if (o.error?.code !== "policy_denied" || o.rows.length) out.push({ sql, rows: o.rows, error: o.error?.message });
  }
  return out;
}

/** `driver`, recording how many rows each fetch of its queries returned, in order (one query at a time). */
export function recordFetches<D extends Driver>(driver: D): { driver: D; fetches: number[] } {
  const fetches: number[] = [];
  const recording = Object.assign(Object.create(driver) as D, {
    open: async (...args: Parameters<Driver["open"]>) => {
      const s = await driver.open(...args);
      const next = async (maxRows?: number) => {
        const rows = await s.next(maxRows);
        if (rows) fetches.push(rows.length);
        return rows;
      };
      return { columns: s.columns, next, close: () => s.close() };
    },
  });
  return { driver: recording, fetches };
}

export function outcome(frames: RunnerFrame[]): Outcome {
  const o: Outcome = { columns: [], rows: [], frames };
  for (const f of frames) {
    if (f.type === "columns") o.columns = f.columns.map((c) => c.name);
    if (f.type === "rows") o.rows.push(...f.rows);
    if (f.type === "done") o.done = f;
    if (f.type === "error") o.error = f;
  }
  return o;
}
