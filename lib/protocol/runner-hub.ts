/**
 * The RunnerHubDO's RPC surface: what the gateway and the orchestrator (the `sql` tool) send a hub and what
 * comes back. A failed query is a value with a typed code, not a thrown error, because class identity does
 * not survive RPC and callers must tell "runner offline" from "policy refused" without parsing messages.
 */
import { z } from "zod";
import { ColumnSchema, DbKindSchema, NamedQueryInfoSchema, SchemaTableSchema, SqlScalarSchema } from "./runner.js";

export { RunnerNameSchema } from "./runner.js";

export const HubQueryRequestSchema = z
  .object({
    /** Chosen by the caller so it can cancel the query while it runs. */
    id: z.string().regex(/^[A-Za-z0-9_-]{1,128}$/),
    /**
     * The caller's, for logs: up to 300, as a session socket's turn is named (`<upgrade id>.<turn id>`); the
     * runner is sent at most its first REQUEST_ID_MAX characters.
     */
    requestId: z.string().min(1).max(300),
    sql: z.string().min(1).max(100_000).optional(),
    named: z.string().min(1).max(128).optional(),
    params: z.union([z.array(SqlScalarSchema), z.record(z.string(), SqlScalarSchema)]).optional(),
    /** Lowered to the hub's own limits; the runner's policy may lower them again. */
    maxRows: z.number().int().positive().optional(),
    maxBytes: z.number().int().positive().optional(),
    timeoutMs: z.number().int().positive().optional(),
  })
  .refine((q) => (q.sql === undefined) !== (q.named === undefined), { message: "exactly one of sql or named is required" });
export type HubQueryRequest = z.input<typeof HubQueryRequestSchema>;

export const HubErrorCodeSchema = z.enum([
  "runner_offline", // no runner of this name is connected
  "runner_disconnected", // the runner went away while the query ran
  "invalid_request",
  "policy_denied",
  "unknown_query",
  "bad_params",
  "timeout",
  "cancelled",
  "busy",
  "db_unavailable",
  "db_error",
  "row_too_large", // one row of the result is wider than a rows frame may be (CIO_RUNNER_FRAME_BYTES)
  "protocol_error", // the runner broke the protocol (bad frame, lost chunk, too many chunks in flight)
  "internal",
  "query_in_progress", // a query with the same id is still running on this pool
]);
export type HubErrorCode = z.infer<typeof HubErrorCodeSchema>;
export const HubErrorSchema = z.object({ code: HubErrorCodeSchema, message: z.string() });
export type HubError = z.infer<typeof HubErrorSchema>;

export interface QueryRows {
  columns: z.infer<typeof ColumnSchema>[];
  rows: unknown[][];
  rowCount: number;
  truncated: boolean;
  truncatedBy?: "maxRows" | "maxBytes";
  elapsedMs: number;
}
export type HubQueryResult = ({ ok: true } & QueryRows) | { ok: false; error: HubError };

export const RunnerConnectionSchema = z.object({
  connectionId: z.string(),
  version: z.string().nullable(),
  dbKind: DbKindSchema.nullable(),
  connectedAt: z.number(),
  lastSeen: z.number(),
  /** Queries this connection is running now. */
  active: z.number().int(),
});
export type RunnerConnection = z.infer<typeof RunnerConnectionSchema>;

export const RunnerStatusSchema = z.object({
  name: z.string(),
  status: z.enum(["connected", "offline"]),
  connections: z.array(RunnerConnectionSchema),
  version: z.string().nullable(),
  dbKind: DbKindSchema.nullable(),
  lastSeen: z.number().nullable(),
  namedOnly: z.boolean(),
  maxRows: z.number().int().nullable(),
  namedQueries: z.array(NamedQueryInfoSchema),
  /** What the runner's policy lets it show, as reported in its last hello. */
  schema: z.object({ tables: z.array(SchemaTableSchema) }),
});
export type RunnerStatus = z.infer<typeof RunnerStatusSchema>;

/** Identity the gateway hands the hub with a runner's WebSocket upgrade, after checking the token. */
export const RUNNER_IDENTITY_HEADERS = {
  tenant: "x-cio-tenant-id",
  runner: "x-cio-runner-name",
  token: "x-cio-runner-token-id",
} as const;

/** Where a stored query result lives in the FILES bucket: under its tenant, so a key from one tenant never reaches another's. */
export const queryResultKey = (tenantId: string, id: string) => `query-results/${tenantId}/${id}.ndjson`;
export const NDJSON = "application/x-ndjson";
