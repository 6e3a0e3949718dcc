/**
 * The `batch` task: validate the input JSONL as it streams from R2 (OpenAI fails a batch whose file has
 * any invalid line, or whose lines name more than one model, or a model it does not serve), split it into parts of CIO_BATCH_PART_SIZE requests (or CIO_BATCH_PART_MAX_BYTES of
 * input, whichever comes first) by byte range, and queue the first
 * CIO_BATCH_MAX_PARTS_IN_FLIGHT of them; each finished part queues the next, which bounds concurrency.
 * The task stays running until finalize.ts completes the batch.
 */
import { and, eq, isNull, lte, or } from "drizzle-orm";
import { z } from "zod";
import { openDb, schema } from "../../../../../lib/db/index.js";
import { BatchLineSchema } from "../../../../../lib/protocol/heavy.js";
import type { HeavyEnv } from "../../env.js";
import { JobFailure, type Job, type JobContext } from "../../job.js";
import { failBatch, maybeFinalize } from "./finalize.js";
import { dropPendingParts, readBatch, returnPart, takeNextPart, type BatchRow } from "./store.js";

const ParamsSchema = z.object({ batchId: z.string().min(1) });
const MAX_REPORTED_ERRORS = 100;

type PlanError = { code: string; message: string; line: number | null; param: string | null };

interface Planned {
  parts: { startByte: number; endByte: number; firstLine: number; requests: number }[];
  total: number;
  errors: PlanError[];
  /** The batch's one model: the first valid line's `body.model`, and that line. */
  model?: { name: string; line: number };
}

export const planBatch: Job = async (ctx) => {
  const { env, task } = ctx;
  const { batchId } = ParamsSchema.parse(task.params);
  const batch = await readBatch(env.DB, task.tenantId, batchId);
  if (!batch) throw new JobFailure("batch_not_found", `No batch '${batchId}'.`);
  if (batch.status === "cancelling") return endCancelled(ctx, batchId);
  // Failed by an earlier delivery whose task write then failed: the task ends as its batch did, instead of
  // being acknowledged as pending and left running for good.
  if (batch.status === "failed") {
    const first = batch.errors?.[0];
    if (first?.code === "file_not_found") throw new JobFailure(first.code, first.message);
    throw new JobFailure("invalid_batch", `The batch input is invalid: ${first?.message ?? "see the batch's errors"}`);
  }
  if (batch.status !== "validating") {
    await resendQueued(ctx, batch);
    return "pending";
  }
  const planned = await scan(ctx, batch).catch(async (err: unknown) => {
    // Only the task failed: the batch stayed validating for good, and a later cancel waited on it for good too.
    if (err instanceof JobFailure && err.code === "file_not_found") await failBatch(env, task, { code: err.code, message: err.message });
    throw err;
  });
  if (!planned.errors.length && planned.model) planned.errors.push(...(await unserved(env, planned.model)));
  if (planned.errors.length || planned.total === 0) {
    const errors = planned.errors.length ? planned.errors : [{ code: "empty_file", message: "The input file has no requests.", line: null, param: null }];
    await failBatch(env, task, errors[0]!, errors);
    throw new JobFailure("invalid_batch", `The batch input is invalid: ${errors[0]!.message}`);
  }
  // Cancelled while the file was read (a large one takes a while): its parts would be queued only to run nothing.
  if ((await readBatch(env.DB, task.tenantId, batchId))?.status === "cancelling") return endCancelled(ctx, batchId);
  await savePlan(env.DB, batch, planned, ctx.settings.CIO_BATCH_MAX_PARTS_IN_FLIGHT);
  await resendQueued(ctx, batch);
  return "pending";
};

/** A cancelled batch runs no more parts; with none left running it ends now (finalize.ts), else its last part ends it. */
async function endCancelled(ctx: JobContext, batchId: string) {
  await dropPendingParts(ctx.env.DB, ctx.task.tenantId, batchId);
  await maybeFinalize(ctx.env, ctx.log, ctx.task.tenantId, batchId);
  return "pending" as const;
}

async function scan(ctx: JobContext, batch: BatchRow): Promise<Planned> {
  const { env, settings: s } = ctx;
  const [file] = await openDb(env.DB).select().from(schema.files).where(and(eq(schema.files.tenantId, batch.tenantId), eq(schema.files.id, batch.inputFileId))).limit(1);
  const obj = file ? await env.FILES.get(file.r2Key) : null;
  if (!file || !obj) throw new JobFailure("file_not_found", `The input file '${batch.inputFileId}' is gone.`);
  const planned: Planned = { parts: [], total: 0, errors: [] };
  const ids = new Set<string>();
  const decoder = new TextDecoder();
  let partStart = 0;
  let partFirst = 1;
  let inPart = 0;
  let lineNo = 0;
  /** Reads one line (null: past CIO_BATCH_MAX_LINE_BYTES); says false once the batch is known to fail and nothing more would be reported. */
  const onLine = (bytes: Uint8Array | null, end: number): boolean => {
    lineNo++;
    const text = bytes && decoder.decode(bytes).trim();
    if (text === "") return true;
    const error = text === null ? tooLarge(lineNo, s.CIO_BATCH_MAX_LINE_BYTES) : validate(text, ids, planned, lineNo);
    if (error) {
      planned.errors.push(error);
      return planned.errors.length < MAX_REPORTED_ERRORS;
    }
    // Said once, at the first request past the limit, and the rest of the file is not read: holding every
    // custom_id of a file far past the limit ran the consumer out of memory instead of failing the batch.
    if (++planned.total > s.CIO_BATCH_MAX_REQUESTS) {
      planned.errors.push({ code: "too_many_requests", message: `A batch may hold at most ${s.CIO_BATCH_MAX_REQUESTS} requests.`, line: lineNo, param: null });
      return false;
    }
    if (++inPart === s.CIO_BATCH_PART_SIZE || end - partStart >= s.CIO_BATCH_PART_MAX_BYTES) {
      planned.parts.push({ startByte: partStart, endByte: end, firstLine: partFirst, requests: inPart });
      partStart = end;
      partFirst = lineNo + 1;
      inPart = 0;
    }
    return true;
  };
  const size = await splitLines(obj.body, s.CIO_BATCH_MAX_LINE_BYTES, onLine, (read) => ctx.progress((read / Math.max(1, file.bytes)) * 0.05));
  if (inPart) planned.parts.push({ startByte: partStart, endByte: size, firstLine: partFirst, requests: inPart });
  return planned;
}

/**
 * A request line larger than the gateway lets a chat request be (CIO_MAX_BODY_BYTES, 1 MiB by default) was
 * accepted whole, and held whole while read: a 12 MB line became a part past CIO_BATCH_PART_MAX_BYTES, and a
 * larger one ran the consumer out of memory instead of failing the batch.
 */
const tooLarge = (line: number, max: number): PlanError => ({ code: "line_too_large", message: `Line ${line} is larger than ${max} bytes.`, line, param: null });

/** Checks one line; the first valid one sets the batch's model (`planned.model`), which every other must name too. */
function validate(text: string, ids: Set<string>, planned: Planned, line: number): PlanError | null {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { code: "invalid_json_line", message: `Line ${line} is not valid JSON.`, line, param: null };
  }
  const r = BatchLineSchema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    return { code: "invalid_request", message: `Line ${line}: ${issue.path.join(".") || "line"}: ${issue.message}`, line, param: issue.path.join(".") || null };
  }
  if (ids.has(r.data.custom_id)) return { code: "duplicate_custom_id", message: `Line ${line}: custom_id '${r.data.custom_id}' is used twice.`, line, param: "custom_id" };
  ids.add(r.data.custom_id);
  const model = (planned.model ??= { name: r.data.body.model, line });
  if (r.data.body.model === model.name) return null;
  const message = `Line ${line}: body.model '${r.data.body.model}' differs from '${model.name}' (line ${model.line}); the requests of a batch must all use one model.`;
  return { code: "mixed_models", message, line, param: "body.model" };
}

/**
 * The batch's model must be one the orchestrator answers, as the gateway requires of work it stores to run
 * later (requireModel): otherwise every request was run only to be answered model_not_found. One call a batch.
 */
async function unserved(env: HeavyEnv, model: NonNullable<Planned["model"]>): Promise<PlanError[]> {
  const known = (await env.ORCHESTRATOR.models()).map((m) => m.id);
  if (known.includes(model.name)) return [];
  const message = `The model '${model.name}' does not exist. Available models: ${known.join(", ")}.`;
  return [{ code: "model_not_found", message, line: model.line, param: "body.model" }];
}

/**
 * Calls onLine with each line's bytes and the byte offset just past it, until it says false (the rest of
 * the body is then cancelled, not read); returns the bytes read. A line that spans chunks is joined once.
 * A line of more than maxLineBytes (its line break not counted) is neither joined nor kept as it arrives:
 * onLine gets null for it.
 */
export async function splitLines(body: ReadableStream<Uint8Array>, maxLineBytes: number, onLine: (bytes: Uint8Array | null, end: number) => boolean, progress: (read: number) => Promise<void>): Promise<number> {
  const reader = body.getReader();
  const carry = new Carry(maxLineBytes);
  let offset = 0;
  for (let r = await reader.read(); !r.done; r = await reader.read()) {
    const chunk = r.value;
    let from = 0;
    for (let nl = chunk.indexOf(10); nl >= 0; nl = chunk.indexOf(10, from)) {
      const line = carry.end(chunk.subarray(from, nl + 1), nl - from);
      from = nl + 1;
      if (!onLine(line, offset + from)) {
        await reader.cancel();
        return offset + from;
      }
    }
    if (from < chunk.length) carry.add(chunk.slice(from));
    offset += chunk.byteLength;
    await progress(offset);
  }
  if (!carry.empty) onLine(carry.end(new Uint8Array(0), 0), offset);
  return offset;
}

/** The start of a line that spans chunks; dropped (the line only marked too large) once past the bound. */
class Carry {
  private pieces: Uint8Array[] = [];
  private bytes = 0;
  private over = false;

  constructor(private readonly max: number) {}

  get empty() {
    return !this.pieces.length && !this.over;
  }

  add(piece: Uint8Array) {
    this.bytes += piece.length;
    this.over ||= this.bytes > this.max;
    if (this.over) this.pieces = [];
    else this.pieces.push(piece);
  }

  /** The whole line, its last piece `piece` holding `counted` bytes before the line break; null when too large. */
  end(piece: Uint8Array, counted: number): Uint8Array | null {
    const over = this.over || this.bytes + counted > this.max;
    const line = over ? null : this.pieces.length ? concat([...this.pieces, piece]) : piece;
    this.pieces = [];
    this.bytes = 0;
    this.over = false;
    return line;
  }
}

const concat = (parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

async function savePlan(d1: D1Database, batch: BatchRow, planned: Planned, inFlight: number) {
  const db = openDb(d1);
  const now = Date.now();
  const rows = planned.parts.map((p, idx) => ({ ...p, idx, batchId: batch.id, tenantId: batch.tenantId, status: idx < inFlight ? ("queued" as const) : ("pending" as const) }));
  // D1 binds at most 100 parameters per statement: insert the parts a few rows at a time, in one batch.
  const inserts = [];
  for (let i = 0; i < rows.length; i += 8) inserts.push(db.insert(schema.batchParts).values(rows.slice(i, i + 8)).onConflictDoNothing());
  const start = db
    .update(schema.batches)
    .set({ status: "in_progress", inProgressAt: now, total: planned.total, partsTotal: rows.length })
    .where(and(eq(schema.batches.tenantId, batch.tenantId), eq(schema.batches.id, batch.id), eq(schema.batches.status, "validating")));
  await db.batch([start, ...inserts] as unknown as Parameters<typeof db.batch>[0]);
}

/**
 * Sends a message for every part marked queued (after planning, or again after a redelivery), and for every
 * running part no live delivery holds (its claim given back or expired). The housekeeping cron sends a batch's
 * planning message again when the batch stalled (lost-tasks.ts: a dead letter dropped after its own retries),
 * so with no such part the chain is restarted here: the next pending part is queued, or, none left, the batch
 * is finalized.
 */
async function resendQueued(ctx: JobContext, batch: Pick<BatchRow, "id" | "tenantId">) {
  const p = schema.batchParts;
  const dead = lte(p.claimedAt, Date.now() - ctx.settings.CIO_BATCH_CLAIM_TTL_MS);
  const open = await openDb(ctx.env.DB)
    .select({ idx: p.idx })
    .from(p)
    .where(and(eq(p.tenantId, batch.tenantId), eq(p.batchId, batch.id), or(eq(p.status, "queued"), and(eq(p.status, "running"), or(isNull(p.claim), dead)))));
  const next = open.length ? undefined : await takeNextPart(ctx.env.DB, batch.tenantId, batch.id);
  const parts = next === undefined ? open.map((q) => q.idx) : [next];
  if (!parts.length) return maybeFinalize(ctx.env, ctx.log, batch.tenantId, batch.id);
  const body = (part: number) => ({ kind: "batch_part" as const, batchId: batch.id, part, tenantId: batch.tenantId, requestId: ctx.task.requestId ?? ctx.task.id });
  try {
    for (let i = 0; i < parts.length; i += 100) await ctx.env.HEAVY_QUEUE.sendBatch(parts.slice(i, i + 100).map((part) => ({ body: body(part) })));
  } catch (err) {
    if (next !== undefined) await returnPart(ctx.env.DB, batch.tenantId, batch.id, next);
    throw err;
  }
}
