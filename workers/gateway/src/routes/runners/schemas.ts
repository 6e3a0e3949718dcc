/** The public runner API's bodies (snake_case, like the rest of the public API). */
import { z } from "zod";
import { SqlScalarSchema } from "../../../../../lib/protocol/runner.js";
import { RunnerNameSchema } from "../../../../../lib/protocol/runner-hub.js";

export const RunnerParam = z.object({ name: RunnerNameSchema });
export const QueryParam = RunnerParam.extend({ id: z.string().regex(/^[A-Za-z0-9_-]{1,128}$/) });
export const ResultParam = z.object({ id: z.string().regex(/^[A-Za-z0-9_-]{1,128}$/) });

export const QueryBodySchema = z
  .object({
    /** Ad-hoc read-only SQL in the database's own dialect; refused when the runner is in named-only mode. */
    sql: z.string().min(1).max(100_000).optional(),
    /** A named query from the runner's config. */
    named: z.string().min(1).max(128).optional(),
    params: z.union([z.array(SqlScalarSchema), z.record(z.string(), SqlScalarSchema)]).optional(),
    max_rows: z.number().int().positive().optional(),
    max_bytes: z.number().int().positive().optional(),
    timeout_ms: z.number().int().positive().optional(),
    /** Your id for the query, so you can cancel it while it runs. */
    id: z.string().regex(/^[A-Za-z0-9_-]{1,128}$/).optional(),
    /** Answer with NDJSON as rows arrive (columns line, one line per row, done or error line). */
    stream: z.boolean().optional(),
  })
  .strict()
  .refine((b) => (b.sql === undefined) !== (b.named === undefined), { message: "send exactly one of 'sql' or 'named'", path: ["sql"] })
  .meta({ id: "RunnerQuery" });

const Connection = z.object({
  connection_id: z.string(),
  version: z.string().nullable(),
  db_kind: z.string().nullable(),
  connected_at: z.number(),
  last_seen: z.number(),
  active_queries: z.number(),
});

export const RunnerSchema = z
  .object({
    object: z.literal("runner"),
    name: z.string(),
    status: z.enum(["connected", "offline"]),
    version: z.string().nullable(),
    db_kind: z.string().nullable(),
    last_seen: z.number().nullable(),
    connections: z.array(Connection),
    named_only: z.boolean(),
    max_rows: z.number().nullable(),
    named_queries: z.array(z.object({ name: z.string(), description: z.string().optional(), params: z.array(z.string()) })),
    tables: z.array(z.object({ schema: z.string().nullable(), name: z.string(), columns: z.array(z.object({ name: z.string(), type: z.string(), nullable: z.boolean(), masked: z.boolean().optional() })) })),
  })
  .meta({ id: "Runner" });

export const QueryResultSchema = z
  .object({
    object: z.literal("query_result"),
    id: z.string(),
    columns: z.array(z.object({ name: z.string(), type: z.string() })),
    rows: z.array(z.array(z.unknown())),
    row_count: z.number(),
    truncated: z.boolean(),
    truncated_by: z.enum(["maxRows", "maxBytes"]).nullable(),
    elapsed_ms: z.number(),
  })
  .meta({ id: "RunnerQueryResult" });
