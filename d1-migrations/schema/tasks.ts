import { sql } from "drizzle-orm";
import { index, integer, primaryKey, real, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { tenants } from "./tenants.js";

const now = sql`(unixepoch('subsec') * 1000)`;

/**
 * One row per job handed to the `heavy` queue. Queue messages carry only the task id; the parameters
 * stay here (small) or in R2 (`input_ref`), and the result goes to R2 (`result_ref`) with a short summary.
 */
export const tasks = sqliteTable(
  "tasks",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id").notNull().references(() => tenants.id),
    type: text("type", { enum: ["file_analysis", "batch", "chat_completion", "image_generation"] }).notNull(),
    status: text("status", { enum: ["queued", "running", "succeeded", "failed", "cancelled"] }).notNull().default("queued"),
    /** 0..1 */
    progress: real("progress").notNull().default(0),
    attempts: integer("attempts").notNull().default(0),
    params: text("params", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
    inputRef: text("input_ref"),
    resultRef: text("result_ref"),
    summary: text("summary"),
    error: text("error", { mode: "json" }).$type<{ code: string; message: string }>(),
    sessionId: text("session_id"),
    requestId: text("request_id"),
    /** The key that queued it (null from a chat's tool): revoked, or its tenant suspended, the task does not run. */
    keyId: text("key_id"),
    /**
     * The delivery running the task (a random token) and since when: Queues delivers at least once, so two
     * deliveries of one task's message may arrive at a time. A running task is taken only once its claim was
     * given back or is older than CIO_BATCH_CLAIM_TTL_MS, and only the claim's holder ends it.
     */
    claim: text("claim"),
    claimedAt: integer("claimed_at"),
    createdAt: integer("created_at").notNull().default(now),
    startedAt: integer("started_at"),
    updatedAt: integer("updated_at").notNull().default(now),
    finishedAt: integer("finished_at"),
  },
  (t) => [index("tasks_tenant_created").on(t.tenantId, t.createdAt), index("tasks_status_updated").on(t.status, t.updatedAt)],
);
export type Task = typeof tasks.$inferSelect;

/** Uploaded files (OpenAI Files API) and the files batches write; the bytes live in R2 under `r2_key`. */
export const files = sqliteTable(
  "files",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id").notNull().references(() => tenants.id),
    filename: text("filename").notNull(),
    purpose: text("purpose", { enum: ["batch", "analysis", "batch_output"] }).notNull(),
    bytes: integer("bytes").notNull(),
    contentType: text("content_type"),
    r2Key: text("r2_key").notNull(),
    createdAt: integer("created_at").notNull().default(now),
    /** From OpenAI's `expires_after` (a batch's `output_expires_after` for its output): gone from then on, swept by a cron. */
    expiresAt: integer("expires_at"),
  },
  (t) => [index("files_tenant_created").on(t.tenantId, t.createdAt), index("files_expires").on(t.expiresAt)],
);
export type FileRow = typeof files.$inferSelect;

/** OpenAI Batch API objects; the work itself runs as a `batch` task split into parts. */
export const batches = sqliteTable(
  "batches",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id").notNull().references(() => tenants.id),
    taskId: text("task_id").notNull(),
    /** The key that created the batch: its requests are admitted under that key's rate limits. */
    keyId: text("key_id").notNull(),
    limits: text("limits", { mode: "json" }).$type<Record<string, number | null>>().notNull(),
    inputFileId: text("input_file_id").notNull(),
    endpoint: text("endpoint").notNull(),
    completionWindow: text("completion_window").notNull(),
    status: text("status", {
      enum: ["validating", "failed", "in_progress", "finalizing", "completed", "expired", "cancelling", "cancelled"],
    })
      .notNull()
      .default("validating"),
    total: integer("total").notNull().default(0),
    completed: integer("completed").notNull().default(0),
    failed: integer("failed").notNull().default(0),
    partsTotal: integer("parts_total").notNull().default(0),
    partsDone: integer("parts_done").notNull().default(0),
    outputFileId: text("output_file_id"),
    errorFileId: text("error_file_id"),
    errors: text("errors", { mode: "json" }).$type<{ code: string; message: string; line: number | null; param: string | null }[]>(),
    metadata: text("metadata", { mode: "json" }).$type<Record<string, string>>(),
    createdAt: integer("created_at").notNull().default(now),
    inProgressAt: integer("in_progress_at"),
    finalizingAt: integer("finalizing_at"),
    completedAt: integer("completed_at"),
    failedAt: integer("failed_at"),
    cancellingAt: integer("cancelling_at"),
    cancelledAt: integer("cancelled_at"),
    expiresAt: integer("expires_at").notNull(),
    /** Set when a request was left unrun because the completion window had closed; the batch then ends expired. */
    expiredAt: integer("expired_at"),
    /** `output_expires_after.seconds`: the output and error files expire that long after they are written. */
    outputExpiresAfterS: integer("output_expires_after_s"),
  },
  (t) => [index("batches_tenant_created").on(t.tenantId, t.createdAt)],
);
export type Batch = typeof batches.$inferSelect;

/** A slice of a batch's input (a byte range of the JSONL) that one queue message runs. */
export const batchParts = sqliteTable(
  "batch_parts",
  {
    batchId: text("batch_id").notNull(),
    idx: integer("idx").notNull(),
    tenantId: text("tenant_id").notNull(),
    startByte: integer("start_byte").notNull(),
    endByte: integer("end_byte").notNull(),
    firstLine: integer("first_line").notNull(),
    requests: integer("requests").notNull(),
    /** pending: waits for a slot; queued: sent to the queue; done: outputs written. */
    status: text("status", { enum: ["pending", "queued", "running", "done"] }).notNull().default("pending"),
    completed: integer("completed").notNull().default(0),
    failed: integer("failed").notNull().default(0),
    outputBytes: integer("output_bytes").notNull().default(0),
    errorBytes: integer("error_bytes").notNull().default(0),
    /**
     * The delivery running the part (a random token) and since when: Queues delivers at least once, so two
     * deliveries may hold one part's message at a time. A running part is taken over only once its claim was
     * given back or is older than CIO_BATCH_CLAIM_TTL_MS; it ends (done) only for the claim that holds it, and
     * keeps that claim, whose token names the part's files in R2.
     */
    claim: text("claim"),
    claimedAt: integer("claimed_at"),
  },
  (t) => [primaryKey({ columns: [t.batchId, t.idx] })],
);
export type BatchPart = typeof batchParts.$inferSelect;

/**
 * A batch request about to be sent to the model, recorded before the call: another claim of the part does not
 * send it again until the claim that started it has expired (it may still be running). Given back (expired at
 * once) when the call fails or the model's answer is a transient error, and deleted with the part's results
 * once the part ends.
 */
export const batchStarts = sqliteTable(
  "batch_starts",
  {
    batchId: text("batch_id").notNull(),
    part: integer("part").notNull(),
    /** The request's place in its part, from 0 (as in batch_results). */
    line: integer("line").notNull(),
    tenantId: text("tenant_id").notNull(),
    /** The claim that sent it, and when that claim was taken (batch_parts.claimed_at): it expires from there. */
    claim: text("claim").notNull(),
    claimedAt: integer("claimed_at").notNull(),
    /**
     * The error line of the model's last transient failure (429, 5xx) for this request, which was given back to
     * be sent again: the dead-letter path writes it as the request's line when the part's retries run out.
     */
    lastError: text("last_error"),
  },
  (t) => [primaryKey({ columns: [t.batchId, t.part, t.line] })],
);

/**
 * Each finished request of a running batch part, written as it finishes: a retried part skips these (an
 * answered request is neither sent nor billed twice) and keeps their lines. Deleted once the part's output
 * and error files are in R2.
 */
export const batchResults = sqliteTable(
  "batch_results",
  {
    batchId: text("batch_id").notNull(),
    part: integer("part").notNull(),
    /** The request's place in its part, from 0. */
    line: integer("line").notNull(),
    tenantId: text("tenant_id").notNull(),
    /** expired: left unrun because the completion window had closed; it goes to the error file. */
    kind: text("kind", { enum: ["output", "error", "expired"] }).notNull(),
    /** The output or error file's line, as it will be written. */
    body: text("body").notNull(),
  },
  (t) => [primaryKey({ columns: [t.batchId, t.part, t.line] })],
);
export type BatchResult = typeof batchResults.$inferSelect;
