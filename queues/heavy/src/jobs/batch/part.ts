/**
 * One part of a batch: its byte range of the input is read from R2, its requests run through the
 * orchestrator (at most CIO_BATCH_PART_CONCURRENCY at once, each admitted by the tenant's rate limiter),
 * and its output and error lines go to R2 in OpenAI's batch output format. Then the next pending part is
 * queued, and the last part to finish finalizes the batch. A finished part is never run again.
 */
import type { Logger } from "../../../../../lib/log.js";
import { r2Keys } from "../../../../../lib/heavy/ids.js";
import { BatchLineSchema, type HeavyMessage } from "../../../../../lib/protocol/heavy.js";
import type { ChatReply } from "../../../../../lib/protocol/index.js";
import type { HeavyEnv } from "../../env.js";
import type { HeavySettings } from "../../settings.js";
import { admit, release } from "./admit.js";
import { maybeFinalize, reportProgress } from "./finalize.js";
import { claimPart, finishPart, markExpired, readBatch, takeNextPart, type BatchRow, type PartRow } from "./store.js";

type PartMessage = Extract<HeavyMessage, { kind: "batch_part" }>;
const LEASE_TTL_MS = 15 * 60_000;

export async function runBatchPart(env: HeavyEnv, s: HeavySettings, msg: PartMessage, log: Logger): Promise<void> {
  const batch = await readBatch(env.DB, msg.tenantId, msg.batchId);
  if (!batch) return log.warn("part of an unknown batch dropped");
  const part = await claimPart(env.DB, msg.tenantId, msg.batchId, msg.part);
  if (part) {
    const lines = batch.status === "cancelling" || batch.status === "cancelled" ? [] : await readLines(env, batch, part);
    const out = await runLines(env, s, batch, lines, log);
    await writePart(env, batch, part, out);
  }
  await afterPart(env, msg, log);
}

/** The dead-letter path: every request of the part is reported failed, and the batch goes on. */
export async function failBatchPart(env: HeavyEnv, _s: HeavySettings, msg: PartMessage, log: Logger): Promise<void> {
  const batch = await readBatch(env.DB, msg.tenantId, msg.batchId);
  if (!batch) return;
  const part = await claimPart(env.DB, msg.tenantId, msg.batchId, msg.part);
  if (part) {
    const lines = await readLines(env, batch, part).catch(() => []);
    const out: Output = { output: [], errors: [], expired: 0 };
    for (const l of lines) out.errors.push(errorLine(l.custom_id, { code: "retries_exhausted", message: "The request could not be run after every retry." }));
    // Lines that could not even be read are still counted as failed.
    await writePart(env, batch, part, out, part.requests);
    log.error("batch part failed after its last retry", { batchId: batch.id, part: part.idx });
  }
  await afterPart(env, msg, log);
}

async function afterPart(env: HeavyEnv, msg: PartMessage, log: Logger) {
  const next = await takeNextPart(env.DB, msg.tenantId, msg.batchId);
  if (next !== undefined) await env.HEAVY_QUEUE.send({ ...msg, part: next });
  await reportProgress(env, msg.tenantId, msg.batchId, log);
  await maybeFinalize(env, log, msg.tenantId, msg.batchId);
}

interface Line {
  custom_id: string;
  body: Record<string, unknown>;
}

async function readLines(env: HeavyEnv, batch: BatchRow, part: PartRow): Promise<Line[]> {
  const [file] = await env.DB.prepare("SELECT r2_key FROM files WHERE tenant_id = ? AND id = ?").bind(batch.tenantId, batch.inputFileId).raw<[string]>();
  const obj = file ? await env.FILES.get(file[0], { range: { offset: part.startByte, length: part.endByte - part.startByte } }) : null;
  if (!obj) throw new Error(`the input file of batch ${batch.id} is gone`);
  return (await obj.text())
    .split("\n")
    .map((t) => t.trim())
    .filter(Boolean)
    .map((t) => BatchLineSchema.parse(JSON.parse(t)));
}

interface Output {
  output: string[];
  errors: string[];
  /** Requests left unrun because the completion window had closed. */
  expired: number;
}

async function runLines(env: HeavyEnv, s: HeavySettings, batch: BatchRow, lines: Line[], log: Logger): Promise<Output> {
  const out: Output = { output: [], errors: [], expired: 0 };
  const budget = { waitedMs: 0, maxWaitMs: s.CIO_BATCH_RATE_WAIT_MS, leaseTtlMs: LEASE_TTL_MS };
  let next = 0;
  const worker = async () => {
    while (next < lines.length) {
      const line = lines[next++]!;
      await runOne(env, batch, line, budget, out, log);
    }
  };
  await Promise.all(Array.from({ length: Math.min(s.CIO_BATCH_PART_CONCURRENCY, lines.length) }, worker));
  return out;
}

const EXPIRED = { code: "batch_expired", message: "This request could not be executed before the completion window expired." };

async function runOne(env: HeavyEnv, batch: BatchRow, line: Line, budget: Parameters<typeof admit>[2], out: Output, log: Logger) {
  // Checked per request: a part that started in time may be held by the rate limiter past the window.
  if (Date.now() >= batch.expiresAt) {
    out.expired++;
    return void out.errors.push(errorLine(line.custom_id, EXPIRED));
  }
  const admission = await admit(env, batch, budget);
  if (!admission.ok) return void out.errors.push(errorLine(line.custom_id, admission));
  const requestId = `batch_req_${crypto.randomUUID().replace(/-/g, "").slice(0, 24)}`;
  let reply: ChatReply;
  try {
    reply = (await env.ORCHESTRATOR.chat({ requestId, tenantId: batch.tenantId, keyId: batch.keyId, body: { ...line.body, stream: false }, leaseId: admission.leaseId })) as unknown as ChatReply;
  } catch (err) {
    await release(env, batch.tenantId, admission.leaseId).catch((e) => log.error("lease release failed", { err: e }));
    throw err;
  }
  if (reply.kind === "json") {
    out.output.push(JSON.stringify({ id: requestId, custom_id: line.custom_id, response: { status_code: 200, request_id: requestId, body: reply.completion }, error: null }));
  } else if (reply.kind === "error") {
    const { status, headers: _h, ...body } = reply.error;
    out.errors.push(JSON.stringify({ id: requestId, custom_id: line.custom_id, response: { status_code: status, request_id: requestId, body }, error: null }));
  } else {
    await reply.body.cancel();
    out.errors.push(errorLine(line.custom_id, { code: "unexpected_stream", message: "The model answered with a stream." }));
  }
}

const errorLine = (customId: string, e: { code: string; message: string }) =>
  JSON.stringify({ id: `batch_req_${crypto.randomUUID().replace(/-/g, "").slice(0, 24)}`, custom_id: customId, response: null, error: { code: e.code, message: e.message } });

async function writePart(env: HeavyEnv, batch: BatchRow, part: PartRow, out: Output, failedAtLeast = 0) {
  const enc = new TextEncoder();
  const output = enc.encode(out.output.map((l) => `${l}\n`).join(""));
  const errors = enc.encode(out.errors.map((l) => `${l}\n`).join(""));
  await Promise.all([
    output.length ? env.FILES.put(r2Keys.batchPart(batch.tenantId, batch.id, part.idx, "output"), output) : null,
    errors.length ? env.FILES.put(r2Keys.batchPart(batch.tenantId, batch.id, part.idx, "error"), errors) : null,
  ]);
  if (out.expired) await markExpired(env.DB, batch);
  await finishPart(env.DB, part, { completed: out.output.length, failed: Math.max(out.errors.length, failedAtLeast), outputBytes: output.length, errorBytes: errors.length });
}
