/**
 * Heavy work: the queue message, the parameters of each task type, and the public objects of the tasks,
 * files and batches APIs (files and batches in OpenAI's shapes). Messages carry ids, never bulk data.
 */
import { z } from "zod";
import { ChatCompletionRequestSchema } from "./openai.js";
import { PageQuerySchema } from "./page.js";

export const TaskTypeSchema = z.enum(["file_analysis", "batch", "chat_completion", "image_generation"]);
export type TaskType = z.infer<typeof TaskTypeSchema>;
export const TaskStatusSchema = z.enum(["queued", "running", "succeeded", "failed", "cancelled"]);
export type TaskStatus = z.infer<typeof TaskStatusSchema>;
export const TERMINAL: readonly TaskStatus[] = ["succeeded", "failed", "cancelled"];

export const HeavyMessageSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("task"), taskId: z.string().min(1), tenantId: z.string().min(1), requestId: z.string() }),
  z.object({
    kind: z.literal("batch_part"),
    batchId: z.string().min(1),
    part: z.number().int().nonnegative(),
    tenantId: z.string().min(1),
    requestId: z.string(),
  }),
]);
export type HeavyMessage = z.infer<typeof HeavyMessageSchema>;

const column = z.string().min(1).max(256);
export const AggregateSchema = z.object({
  column,
  op: z.enum(["count", "sum", "mean", "min", "max"]),
});

/** What a file analysis computes: per-column statistics always, group-by aggregates when asked. */
export const AnalysisParamsSchema = z.object({
  file_id: z.string().min(1),
  group_by: column.optional(),
  aggregates: z.array(AggregateSchema).max(16).optional(),
  /** XLSX only: the sheet by name; default the first. */
  sheet: z.string().optional(),
  /** CSV only; by default the most frequent of , ; tab | in the header line (tab for .tsv). */
  delimiter: z.string().length(1).optional(),
});
export type AnalysisParams = z.infer<typeof AnalysisParamsSchema>;

/**
 * Text to image on Workers AI. `model` must be the heavy Worker's default image model or one of those it
 * allows (CIO_IMAGE_MODEL, CIO_IMAGE_MODELS); `size` is OpenAI's "WIDTHxHEIGHT" and goes to models that
 * take a size (the SDXL family); flux-1-schnell takes 1-8 steps, SDXL up to 20.
 */
export const ImageParamsSchema = z.object({
  prompt: z.string().trim().min(1).max(2048),
  size: z
    .string()
    .regex(/^\d{3,4}x\d{3,4}$/, "size is WIDTHxHEIGHT, e.g. 1024x1024")
    .refine((s) => s.split("x").every((n) => Number(n) >= 256 && Number(n) <= 2048), "width and height are 256 to 2048")
    .optional(),
  steps: z.number().int().min(1).max(20).optional(),
  model: z.string().regex(/^@cf\/[\w.-]+\/[\w.-]+$/, "model is a Workers AI model name, e.g. @cf/black-forest-labs/flux-1-schnell").optional(),
});
export type ImageParams = z.infer<typeof ImageParamsSchema>;

/**
 * A chat request run as a task or a batch line: session_id (which reads a session's history into the call and
 * writes the turn to it) is the sessions API's, under its own scope, and runs only on /v1/chat/completions.
 */
const QueuedChatRequestSchema = ChatCompletionRequestSchema.refine((r) => r.session_id === undefined, {
  message: "session_id is not accepted here: chat in a session through /v1/chat/completions",
  path: ["session_id"],
});

/**
 * The request as a task or batch line runs it: unstreamed, its answer stored whole. `stream_options` goes with
 * `stream`: left on a request whose stream is turned off, the orchestrator refused it (as OpenAI would).
 */
export function unstreamed<T extends { stream?: boolean | null; stream_options?: unknown }>(body: T): Omit<T, "stream_options"> & { stream: false } {
  const { stream_options: _, ...rest } = body;
  return { ...rest, stream: false };
}

/** A session the task's progress events go to; it must be one of the tenant's (checked by the gateway). */
const SessionIdRef = z.string().min(1).max(128).optional();

/** `POST /v1/tasks`: long AI jobs and analyses started directly (the brain starts analyses itself). */
export const CreateTaskSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("file_analysis"), params: AnalysisParamsSchema, session_id: SessionIdRef }),
  z.object({ type: z.literal("chat_completion"), params: z.object({ request: QueuedChatRequestSchema }), session_id: SessionIdRef }),
  z.object({ type: z.literal("image_generation"), params: ImageParamsSchema, session_id: SessionIdRef }),
]);
export type CreateTask = z.infer<typeof CreateTaskSchema>;

export const TaskObjectSchema = z.object({
  id: z.string(),
  object: z.literal("task"),
  type: TaskTypeSchema,
  status: TaskStatusSchema,
  progress: z.number(),
  eta_s: z.number().nullable(),
  attempts: z.number().int(),
  summary: z.string().nullable(),
  result_url: z.string().nullable(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  session_id: z.string().nullable(),
  created_at: z.number().int(),
  started_at: z.number().int().nullable(),
  finished_at: z.number().int().nullable(),
});
export type TaskObject = z.infer<typeof TaskObjectSchema>;

export const UPLOAD_PURPOSES = ["batch", "analysis"] as const;

/** GET /v1/files: a page of the tenant's files, optionally of one purpose (batch outputs included). */
export const ListFilesQuerySchema = z.object({
  purpose: z.enum([...UPLOAD_PURPOSES, "batch_output"]).optional(),
  limit: z.coerce.number().int().min(1).max(10_000).default(100),
  after: z.string().optional(),
  order: z.enum(["asc", "desc"]).default("desc"),
});

/** GET /v1/tasks: a page of the tenant's tasks, newest first, optionally of one status and one type. */
export const ListTasksQuerySchema = PageQuerySchema.extend({
  status: TaskStatusSchema.optional(),
  type: TaskTypeSchema.optional(),
});

/** GET /v1/batches: a page of the tenant's batches. */
export const ListBatchesQuerySchema = PageQuerySchema;
export const FileObjectSchema = z.object({
  id: z.string(),
  object: z.literal("file"),
  bytes: z.number().int(),
  created_at: z.number().int(),
  /** Unix seconds; null for a file that does not expire. */
  expires_at: z.number().int().nullable(),
  filename: z.string(),
  purpose: z.string(),
  status: z.literal("processed"),
});

/** OpenAI's expiration policy of a file (`expires_after`) or of a batch's output (`output_expires_after`). */
/** OpenAI's bounds of `expires_after.seconds`: an hour to 30 days. */
export const EXPIRES_AFTER_S = { min: 3600, max: 2_592_000 } as const;

export const ExpiresAfterSchema = z.object({
  anchor: z.literal("created_at", { error: "anchor must be created_at" }),
  seconds: z.coerce
    .number()
    .int()
    .min(EXPIRES_AFTER_S.min, `at least ${EXPIRES_AFTER_S.min} seconds (1 hour)`)
    .max(EXPIRES_AFTER_S.max, `at most ${EXPIRES_AFTER_S.max} seconds (30 days)`),
});
export type FileObject = z.infer<typeof FileObjectSchema>;

export const CreateBatchSchema = z.object({
  input_file_id: z.string().min(1),
  endpoint: z.literal("/v1/chat/completions", { error: "only /v1/chat/completions is supported" }),
  completion_window: z.literal("24h", { error: "completion_window must be 24h" }),
  /** OpenAI's limits: 16 pairs, keys up to 64 characters, values up to 512. */
  metadata: z.record(z.string().max(64), z.string().max(512)).refine((m) => Object.keys(m).length <= 16, "metadata holds at most 16 pairs").nullable().optional(),
  output_expires_after: ExpiresAfterSchema.optional(),
});

/** One line of a batch input file, as OpenAI defines it. */
export const BatchLineSchema = z.object({
  custom_id: z.string().min(1).max(512),
  method: z.literal("POST"),
  url: z.literal("/v1/chat/completions"),
  body: QueuedChatRequestSchema,
});
export type BatchLine = z.infer<typeof BatchLineSchema>;

export const BatchObjectSchema = z.object({
  id: z.string(),
  object: z.literal("batch"),
  endpoint: z.string(),
  errors: z.object({ object: z.literal("list"), data: z.array(z.object({ code: z.string(), message: z.string(), line: z.number().nullable(), param: z.string().nullable() })) }).nullable(),
  input_file_id: z.string(),
  completion_window: z.string(),
  status: z.string(),
  output_file_id: z.string().nullable(),
  error_file_id: z.string().nullable(),
  created_at: z.number().int(),
  in_progress_at: z.number().int().nullable(),
  expires_at: z.number().int().nullable(),
  finalizing_at: z.number().int().nullable(),
  completed_at: z.number().int().nullable(),
  failed_at: z.number().int().nullable(),
  expired_at: z.number().int().nullable(),
  cancelling_at: z.number().int().nullable(),
  cancelled_at: z.number().int().nullable(),
  request_counts: z.object({ total: z.number().int(), completed: z.number().int(), failed: z.number().int() }),
  metadata: z.record(z.string(), z.string()).nullable(),
});
export type BatchObject = z.infer<typeof BatchObjectSchema>;
