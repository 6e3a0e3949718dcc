/**
 * One part of a batch: its byte range of the input is read from R2, its requests run through the
 * orchestrator (at most CIO_BATCH_PART_CONCURRENCY at once, each admitted by the tenant's rate limiter),
 * and each finished request is recorded in D1 at once (results.ts). When every request has its line, the
 * part's output and error lines go to R2 in OpenAI's batch output format; then the next pending part is
 * queued, and the last part to finish finalizes the batch. A finished part is never run again, and a
 * retried one runs only the requests an earlier attempt did not finish: a request that keeps failing ends
 * failed on the dead-letter path without taking the others with it. A model's transient error (429, 5xx) is
 * not a request's answer: it is sent again later (reply.ts), and its last such error is its line should the
 * part's retries run out. One delivery of the part's message runs
 * it at a time (claim.ts), and a request is sent once (starts.ts), however often the message comes.
 */
import type { Logger } from "../../../../../lib/log.js";
import { r2Keys } from "../../../../../lib/heavy/ids.js";
import { BatchLineSchema, unstreamed, type HeavyMessage } from "../../../../../lib/protocol/heavy.js";
import type { ChatReply } from "../../../../../lib/protocol/index.js";
import type { HeavyEnv } from "../../env.js";
import type { HeavySettings } from "../../settings.js";
import { admit, RateLimited, release } from "./admit.js";
import { ClaimBusy, holding } from "../../claims.js";
import { claimPart, finishPart, releasePart, type ClaimedPart } from "./claim.js";
import { maybeFinalize, reportProgress } from "./finalize.js";
import { errorLine, newRequestId, replyLine } from "./reply.js";
import { deleteResults, finishedLines, readResults, recordResult, type ResultKind, type ResultRow } from "./results.js";
import { dropStart, lastErrors, takeStart } from "./starts.js";
import { markExpired, readBatch, returnPart, takeNextPart, watchCancel, type BatchRow } from "./store.js";

type PartMessage = Extract<HeavyMessage, { kind: "batch_part" }>;

export async function runBatchPart(env: HeavyEnv, s: HeavySettings, msg: PartMessage, log: Logger): Promise<void> {
  const batch = await readBatch(env.DB, msg.tenantId, msg.batchId);
  if (!batch) return log.warn("part of an unknown batch dropped");
  // Throws ClaimBusy while another delivery holds the part: this one is retried when that claim would end.
  const part = await claimPart(env.DB, msg, s.CIO_BATCH_CLAIM_TTL_MS);
  if (part) {
    try {
      await holding("batch part", () => releasePart(env.DB, part), log, async () => {
        const lines = batch.status === "cancelling" || batch.status === "cancelled" ? [] : await readLines(env, batch, part);
        await runLines({ env, batch, part, log, ttlMs: s.CIO_BATCH_CLAIM_TTL_MS, budget: budgetOf(s) }, s, lines);
        await writePart(env, batch, part, await readResults(env.DB, part), log);
      });
    } catch (err) {
      if (!(err instanceof RateLimited)) throw err;
      return requeue(env, msg, err, log);
    }
  }
  await afterPart(env, msg, log);
}

/**
 * The tenant's rate limit held the part past CIO_BATCH_RATE_WAIT_MS, or the model answered a 429 saying when
 * to come back: it goes back to the queue as a new message, delayed until then. Not a retry: waiting for a
 * rate limit must not use up the retries meant for failures (the dead-letter path would then fail requests
 * that were only waiting). The completion window bounds the waiting: past it, requests end as batch_expired.
 */
async function requeue(env: HeavyEnv, msg: PartMessage, err: RateLimited, log: Logger) {
  const { delaySeconds } = err;
  await env.HEAVY_QUEUE.send(msg, { delaySeconds });
  log.info("batch part waits for a rate limit", { by: err.by, delaySeconds });
}

/**
 * The dead-letter path: the requests of the part an attempt did not finish are reported failed, and the batch
 * goes on. One the model last answered with a transient error gets that answer as its line.
 */
export async function failBatchPart(env: HeavyEnv, s: HeavySettings, msg: PartMessage, log: Logger): Promise<void> {
  const batch = await readBatch(env.DB, msg.tenantId, msg.batchId);
  if (!batch) return;
  // A delivery still running the part (a duplicate of this message) is not failed under it: ClaimBusy, retried by the DLQ.
  const part = await claimPart(env.DB, msg, s.CIO_BATCH_CLAIM_TTL_MS);
  if (part) {
    await holding("batch part", () => releasePart(env.DB, part), log, async () => {
      const lines = await readLines(env, batch, part).catch(() => []);
      const rows: Finished[] = await readResults(env.DB, part);
      const last = await lastErrors(env.DB, part);
      const done = new Set(rows.map((r) => r.line));
      for (const [line, l] of lines.entries()) {
        if (!done.has(line)) rows.push({ line, kind: "error", body: last.get(line) ?? errorLine(l.custom_id, RETRIES_EXHAUSTED) });
      }
      // Lines that could not even be read are still counted as failed.
      const answered = rows.filter((r) => r.kind === "output").length;
      await writePart(env, batch, part, rows.sort((a, b) => a.line - b.line), log, part.requests - answered);
    });
    log.error("batch part failed after its last retry", { batchId: batch.id, part: part.idx });
  }
  await afterPart(env, msg, log);
}

async function afterPart(env: HeavyEnv, msg: PartMessage, log: Logger) {
  const next = await takeNextPart(env.DB, msg.tenantId, msg.batchId);
  if (next !== undefined) {
    // A part taken but never sent would wait for good (only the batch's planning message resends queued
    // parts, and it has been acked): it goes back to pending, and this message's retry takes it again.
    await env.HEAVY_QUEUE.send({ ...msg, part: next }).catch(async (err: unknown) => {
      await returnPart(env.DB, msg.tenantId, msg.batchId, next);
      throw err;
    });
  }
  await reportProgress(env, msg.tenantId, msg.batchId, log);
  await maybeFinalize(env, log, msg.tenantId, msg.batchId);
}

interface Line {
  custom_id: string;
  body: Record<string, unknown>;
}

async function readLines(env: HeavyEnv, batch: BatchRow, part: ClaimedPart): Promise<Line[]> {
  const [file] = await env.DB.prepare("SELECT r2_key FROM files WHERE tenant_id = ? AND id = ?").bind(batch.tenantId, batch.inputFileId).raw<[string]>();
  const obj = file ? await env.FILES.get(file[0], { range: { offset: part.startByte, length: part.endByte - part.startByte } }) : null;
  if (!obj) throw new Error(`the input file of batch ${batch.id} is gone`);
  return (await obj.text())
    .split("\n")
    .map((t) => t.trim())
    .filter(Boolean)
    .map((t) => BatchLineSchema.parse(JSON.parse(t)));
}

type Finished = Pick<ResultRow, "line" | "kind" | "body">;
type Budget = Parameters<typeof admit>[2];

/** What every request of one attempt at a part shares. */
interface PartRun {
  env: HeavyEnv;
  batch: BatchRow;
  part: ClaimedPart;
  log: Logger;
  /** CIO_BATCH_CLAIM_TTL_MS: how long another claim's start of a request keeps it from being sent again. */
  ttlMs: number;
  budget: Budget;
}

const budgetOf = (s: HeavySettings): Budget => ({ waitedMs: 0, maxWaitMs: s.CIO_BATCH_RATE_WAIT_MS, leaseTtlMs: s.CIO_LEASE_TTL_MS });

/**
 * Runs the requests of the part that have no recorded result yet. A cancel of the batch stops new requests
 * from starting (checked every CIO_BATCH_CANCEL_CHECK_MS at most): those in flight are answered and kept, and
 * the part ends with what it has, as OpenAI's cancelled batches do (a part under way used to run, and bill,
 * every request it held after a cancel). A request that throws does not stop the others: one request
 * whose call fails every time (say it crashes the orchestrator) once stopped the part at each attempt, so its
 * never-started neighbours were failed with it on the dead-letter path. New requests stop starting when the
 * rate limit's wait ran out, or when more calls in a row threw than run at once (the orchestrator itself is
 * failing; trying every request would only fail each). Those in flight are awaited (and recorded), so no
 * request is left running, holding its rate-limiter lease, after the attempt ends. Then the error is thrown,
 * for the queue's retry; a rate-limit wait that ran out only when nothing else failed, as it alone means
 * "try later". Requests another claim started lately are left to it; with nothing else failing the attempt then
 * ends as ClaimBusy, retried once those starts have expired.
 */
async function runLines(run: PartRun, s: HeavySettings, lines: Line[]): Promise<void> {
  const { env, batch, part } = run;
  const done = await finishedLines(env.DB, part);
  const unanswered = lines.flatMap((line, i) => (done.has(i) ? [] : [{ line, i }]));
  const failures: unknown[] = [];
  let heldMs = 0;
  let throwsInARow = 0;
  let rateLimited = false;
  const stop = () => rateLimited || throwsInARow > s.CIO_BATCH_PART_CONCURRENCY;
  const cancelled = watchCancel(env.DB, batch, s.CIO_BATCH_CANCEL_CHECK_MS);
  let next = 0;
  const worker = async () => {
    while (!stop() && next < unanswered.length && !(await cancelled())) {
      // Taken after the cancel check: another worker may have taken the last one meanwhile.
      const item = unanswered[next++];
      if (!item) return;
      const { line, i } = item;
      try {
        const held = await runOne(run, i, line);
        if (held) heldMs = Math.max(heldMs, held);
        throwsInARow = 0;
      } catch (err) {
        failures.push(err);
        if (err instanceof RateLimited) rateLimited = true;
        else throwsInARow++;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(s.CIO_BATCH_PART_CONCURRENCY, unanswered.length) }, worker));
  if (failures.length) throw failures.find((e) => !(e instanceof RateLimited)) ?? failures[0];
  if (heldMs) throw new ClaimBusy("batch part", heldMs);
}

const EXPIRED = { code: "batch_expired", message: "This request could not be executed before the completion window expired." };
const RETRIES_EXHAUSTED = { code: "retries_exhausted", message: "The request could not be run after every retry." };

/**
 * Runs one request and records its line. Returns how long to wait instead when another claim started it
 * and may still be running it. A call that throws, or that the model answers with a transient error, drops
 * the start (nothing runs the request now) and throws: the retry sends it again.
 */
async function runOne(run: PartRun, i: number, line: Line): Promise<number | undefined> {
  const { env, batch, part, log } = run;
  const start = await takeStart(env.DB, part, i, run.ttlMs);
  if (!start.ok) return start.retryAfterMs;
  const record = (kind: ResultKind, body: string) => recordResult(env.DB, part, i, kind, body);
  let reply: ChatReply;
  let requestId: string;
  try {
    // Checked per request: a part that started in time may be held by the rate limiter past the window.
    if (Date.now() >= batch.expiresAt) return void (await record("expired", errorLine(line.custom_id, EXPIRED)));
    const admission = await admit(env, batch, run.budget);
    if (!admission.ok) return void (await record("error", errorLine(line.custom_id, admission)));
    requestId = newRequestId();
    reply = await ask(run, requestId, line, admission.leaseId);
  } catch (err) {
    await dropStart(env.DB, part, i).catch((e: unknown) => log.error("could not drop a batch request's start", { err: e }));
    throw err;
  }
  const answer = await replyLine(reply, line.custom_id, requestId);
  if (answer.retry) {
    // A transient error answers nothing: the request is sent again (after the rate limit's wait, or on the retry).
    await dropStart(env.DB, part, i, answer.body);
    throw answer.retry;
  }
  // Not dropped past here: the model answered, so a start left by a failed record keeps it from being billed again soon.
  await record(answer.kind, answer.body);
  return undefined;
}

async function ask(run: PartRun, requestId: string, line: Line, leaseId: string): Promise<ChatReply> {
  const { env, batch, log } = run;
  try {
    return (await env.ORCHESTRATOR.chat({ requestId, tenantId: batch.tenantId, keyId: batch.keyId, body: unstreamed(line.body), leaseId })) as unknown as ChatReply;
  } catch (err) {
    await release(env, batch.tenantId, leaseId).catch((e) => log.error("lease release failed", { err: e }));
    throw err;
  }
}

/**
 * Writes the part's files from its finished requests; `failed` counts requests that have none (the dead-letter
 * path). The files are named by the claim and the part ends only for it, so a delivery that lost the part
 * cannot overwrite the files of the one that ended it (it used to, from fewer rows, losing answered lines).
 */
async function writePart(env: HeavyEnv, batch: BatchRow, part: ClaimedPart, rows: Finished[], log: Logger, failed?: number) {
  const enc = new TextEncoder();
  const join = (keep: (r: Finished) => boolean) => enc.encode(rows.filter(keep).map((r) => `${r.body}\n`).join(""));
  const output = join((r) => r.kind === "output");
  const errors = join((r) => r.kind !== "output");
  const key = (kind: "output" | "error") => r2Keys.batchPart(batch.tenantId, batch.id, part.idx, kind, part.claim);
  await Promise.all([output.length ? env.FILES.put(key("output"), output) : null, errors.length ? env.FILES.put(key("error"), errors) : null]);
  if (rows.some((r) => r.kind === "expired")) await markExpired(env.DB, batch);
  const completed = rows.filter((r) => r.kind === "output").length;
  if (!(await finishPart(env.DB, part, { completed, failed: failed ?? rows.length - completed, outputBytes: output.length, errorBytes: errors.length }))) {
    // Taken over after this claim expired: the part, and its results, are the new claim's to end.
    await env.FILES.delete([key("output"), key("error")]);
    return log.warn("batch part was taken over by another delivery before this one ended it; its files were dropped");
  }
  await deleteResults(env.DB, part.tenantId, part.batchId, part.idx);
}
