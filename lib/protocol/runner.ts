/**
 * The runner tunnel: every frame that crosses the WebSocket between a `cio-runner` on a customer's server and
 * its RunnerHubDO, in both directions. These schemas are the single definition of the protocol; both sides
 * validate every incoming frame with them. No `cloudflare:*` imports here: the runner (Node) imports it too.
 *
 * Every frame is JSON text except rows, which are binary (runner-rows.ts) so the hub can pass them to a
 * streaming reader without parsing them.
 *
 * Flow control: for each query the runner may have at most K `rows` chunks that the hub has not yet
 * acknowledged. K is `query.credits`, else `hello-ack.credits`. The hub returns credits with `ack` (usually
 * `credits: 1` per chunk it has consumed). `columns`, `done` and `error` do not consume credits.
 *
 * Heartbeats are the exact strings PING_FRAME / PONG_FRAME so the hub can answer them with a hibernation
 * auto-response without waking the Durable Object.
 */
import { z } from "zod";

/** 2: rows travel as binary NDJSON frames (runner-rows.ts) instead of JSON `rows` text frames. */
export const RUNNER_PROTOCOL_VERSION = 2;
export const RUNNER_CONNECT_PATH = "/v1/runners/connect";
export const PING_FRAME = '{"type":"ping"}';
export const PONG_FRAME = '{"type":"pong"}';

/**
 * Close codes the hub uses when a connected runner's token no longer holds, apart from 1008 (wrong runner
 * name or protocol version), so the runner can tell its operator what to fix. The session sockets' codes.
 */
export const TOKEN_REVOKED_CLOSE = 4401;
export const TENANT_SUSPENDED_CLOSE = 4403;

/** The largest WebSocket message a Durable Object takes: a larger one is a socket error that closes the connection. */
export const MESSAGE_BYTES_MAX = 32 * 1024 * 1024;
/** Longest header line of a binary rows frame, its newline included (a header is ~150 bytes; a longer one is not one). */
export const ROWS_HEADER_MAX = 1024;

/**
 * A runner's name, one for its config file, its tokens and its URL under /v1/runners, where `connect` is the
 * runners' own socket (a runner of that name could never be read).
 */
export const RunnerNameSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, "runner names are lowercase letters, digits, _ and -")
  .refine((n) => `/v1/runners/${n}` !== RUNNER_CONNECT_PATH, "'connect' is reserved: it is the path runners connect to");

export const DbKindSchema = z.enum(["postgres", "mysql", "mariadb", "sqlite", "mssql"]);
export type DbKind = z.infer<typeof DbKindSchema>;

export const RunnerErrorCodeSchema = z.enum([
  "invalid_frame", // the frame did not match this protocol
  "policy_denied", // the local policy refused the statement (reason in message)
  "unknown_query", // a named query that the runner's config does not define
  "bad_params", // parameters missing or of the wrong shape
  "timeout", // the statement timeout fired (database-side or the runner's watchdog)
  "cancelled", // the hub sent `cancel`
  "busy", // the runner is already running its maximum number of queries
  "db_unavailable", // could not reach or log in to the database
  "db_error", // the database rejected or failed the statement
  "row_too_large", // one row is wider than a rows frame may be (hello-ack maxFrameBytes)
  "internal",
]);
export type RunnerErrorCode = z.infer<typeof RunnerErrorCodeSchema>;

/** Longest query id on the wire: runners already deployed refuse longer ones. */
export const QUERY_ID_MAX = 128;
const Id = z.string().min(1).max(QUERY_ID_MAX);
/** Longest request id on the wire, for the same reason: a longer one is cut by the hub (runner-hub.ts). */
export const REQUEST_ID_MAX = 128;
const RequestId = z.string().min(1).max(REQUEST_ID_MAX);
const Credits = z.number().int().min(1).max(1024);
export const SqlScalarSchema = z.union([z.string(), z.number(), z.boolean(), z.null()]);
export type SqlScalar = z.infer<typeof SqlScalarSchema>;

export const ColumnSchema = z.object({ name: z.string(), type: z.string() });
export type Column = z.infer<typeof ColumnSchema>;

export const SchemaColumnSchema = z.object({
  name: z.string(),
  type: z.string(),
  nullable: z.boolean(),
  /** Values of this column are masked by the runner's policy. */
  masked: z.boolean().optional(),
});
export const SchemaTableSchema = z.object({
  schema: z.string().nullable(),
  name: z.string(),
  columns: z.array(SchemaColumnSchema),
});
export type SchemaTable = z.infer<typeof SchemaTableSchema>;

export const NamedQueryInfoSchema = z.object({
  name: z.string(),
  description: z.string().optional(),
  params: z.array(z.string()),
});
export type NamedQueryInfo = z.infer<typeof NamedQueryInfoSchema>;

// ---------------------------------------------------------------- runner → hub

/**
 * The first frame of a connection (pings may come before it). A runner whose schema is slow to read says
 * hello without it and again on the same connection once it has it: the hub keeps the newest and acks each.
 */
export const HelloFrameSchema = z.object({
  type: z.literal("hello"),
  protocol: z.number().int(),
  /** Identifies this connection in both sides' logs. */
  requestId: RequestId,
  runnerName: z.string().min(1).max(64),
  version: z.string(),
  dbKind: DbKindSchema,
  /** Only what the allow-lists let the runner show. Never credentials. */
  /** `omitted`: tables left out to keep the hello small (HELLO_SCHEMA_BYTES in the runner). */
  schema: z.object({ tables: z.array(SchemaTableSchema), omitted: z.number().int().nonnegative().optional() }),
  namedQueries: z.array(NamedQueryInfoSchema),
  namedOnly: z.boolean(),
  maxRows: z.number().int().positive(),
  maxConcurrent: z.number().int().positive(),
});
export const PingFrameSchema = z.object({ type: z.literal("ping") });
export const ColumnsFrameSchema = z.object({
  type: z.literal("columns"),
  id: Id,
  requestId: RequestId,
  columns: z.array(ColumnSchema),
});
/**
 * The header of a binary rows frame (see runner-rows.ts): the frame is this header as JSON, a newline, and
 * `count` rows as NDJSON, one JSON array per line in the order of the `columns` frame.
 */
export const RowsHeaderSchema = z.object({
  type: z.literal("rows"),
  id: Id,
  requestId: RequestId,
  /** 0, 1, 2 … per query, so the hub can detect loss or reordering. */
  seq: z.number().int().nonnegative(),
  count: z.number().int().positive().max(1_000_000),
});
export const DoneFrameSchema = z.object({
  type: z.literal("done"),
  id: Id,
  requestId: RequestId,
  rowCount: z.number().int().nonnegative(),
  truncated: z.boolean(),
  truncatedBy: z.enum(["maxRows", "maxBytes"]).optional(),
  elapsedMs: z.number().nonnegative(),
});
export const ErrorFrameSchema = z.object({
  type: z.literal("error"),
  /** null when the error is about a frame that could not be tied to a query. */
  id: Id.nullable(),
  requestId: RequestId.nullable(),
  code: RunnerErrorCodeSchema,
  message: z.string(),
});

export const RunnerToHubFrameSchema = z.discriminatedUnion("type", [
  HelloFrameSchema,
  PingFrameSchema,
  ColumnsFrameSchema,
  DoneFrameSchema,
  ErrorFrameSchema,
]);
export type RunnerToHubFrame = z.infer<typeof RunnerToHubFrameSchema>;
export type HelloFrame = z.infer<typeof HelloFrameSchema>;
export type ColumnsFrame = z.infer<typeof ColumnsFrameSchema>;
export type RowsHeader = z.infer<typeof RowsHeaderSchema>;
/** A rows frame once decoded and parsed (tests and the runner's tools read frames this way). */
export type RowsFrame = Omit<RowsHeader, "count"> & { rows: unknown[][] };
/** Any runner → hub frame, with rows frames decoded. */
export type RunnerFrame = RunnerToHubFrame | RowsFrame;
export type DoneFrame = z.infer<typeof DoneFrameSchema>;
export type ErrorFrame = z.infer<typeof ErrorFrameSchema>;

// ---------------------------------------------------------------- hub → runner

export const HelloAckFrameSchema = z.object({
  type: z.literal("hello-ack"),
  requestId: RequestId.optional(),
  /** Default K for queries that do not carry their own `credits`. */
  credits: Credits,
  /** How often the runner should ping; the runner keeps its own default when absent. */
  heartbeatMs: z.number().int().min(1000).max(300_000).optional(),
  /**
   * Most bytes of a binary rows frame, header included, that the hub takes: a larger one fails its query.
   * The runner fills frames to at most this; absent (an older hub), only MESSAGE_BYTES_MAX holds.
   */
  maxFrameBytes: z.number().int().min(2 * ROWS_HEADER_MAX).max(MESSAGE_BYTES_MAX).optional(),
});
export const PongFrameSchema = z.object({ type: z.literal("pong") });
export const QueryFrameSchema = z
  .object({
    type: z.literal("query"),
    id: Id,
    requestId: RequestId,
    /** Ad-hoc SQL (refused in named-only mode); placeholders in the database's own style ($1, ?, @p1). */
    sql: z.string().min(1).max(100_000).optional(),
    /** A named query from the runner's config. */
    named: z.string().min(1).max(128).optional(),
    /** Positional for ad-hoc SQL; an object keyed by parameter name for named queries. */
    params: z.union([z.array(SqlScalarSchema), z.record(z.string(), SqlScalarSchema)]).optional(),
    maxRows: z.number().int().positive(),
    maxBytes: z.number().int().positive(),
    timeoutMs: z.number().int().positive(),
    /** K for this query; overrides hello-ack. */
    credits: Credits.optional(),
  })
  .refine((q) => (q.sql === undefined) !== (q.named === undefined), {
    message: "exactly one of sql or named is required",
  });
export const AckFrameSchema = z.object({
  type: z.literal("ack"),
  id: Id,
  requestId: RequestId.optional(),
  /** How many chunks the hub has consumed since its last ack (credits returned to the runner). */
  credits: Credits,
});
export const CancelFrameSchema = z.object({
  type: z.literal("cancel"),
  id: Id,
  requestId: RequestId.optional(),
});

export const HubToRunnerFrameSchema = z.discriminatedUnion("type", [
  HelloAckFrameSchema,
  PongFrameSchema,
  QueryFrameSchema,
  AckFrameSchema,
  CancelFrameSchema,
]);
export type HubToRunnerFrame = z.infer<typeof HubToRunnerFrameSchema>;
export type HelloAckFrame = z.infer<typeof HelloAckFrameSchema>;
export type QueryFrame = z.infer<typeof QueryFrameSchema>;
export type AckFrame = z.infer<typeof AckFrameSchema>;
export type CancelFrame = z.infer<typeof CancelFrameSchema>;

/** Parses a raw WebSocket message; returns the zod error instead of throwing so callers can answer it. */
export function parseFrame<T>(
  schema: z.ZodType<T>,
  raw: string,
): { ok: true; frame: T } | { ok: false; error: string } {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { ok: false, error: "frame is not valid JSON" };
  }
  const r = schema.safeParse(json);
  return r.success ? { ok: true, frame: r.data } : { ok: false, error: z.prettifyError(r.error) };
}
