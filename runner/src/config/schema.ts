/** The runner's config file (YAML), validated once at start-up. Secrets may come from environment variables. */
import { z } from "zod";
import { DbKindSchema, RunnerNameSchema } from "../../../lib/protocol/runner.ts";
import { PolicyConfigSchema } from "../policy/config.ts";

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

export const ConfigSchema = z.object({
  cloud: z
    .object({
      // The runner token and every row go this way: in clear text only to this machine itself.
      url: z
        .url({ protocol: /^(https?|wss?)$/ })
        .refine((u) => /^(https|wss):/.test(u) || LOOPBACK.has(new URL(u).hostname), "cloud.url must use https (http only to 127.0.0.1, localhost or [::1])"),
      token: z.string().min(1).optional(),
      tokenEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/).optional(),
    })
    .refine((c) => c.token !== undefined || c.tokenEnv !== undefined, "set cloud.token or cloud.tokenEnv"),
  runner: z.object({
    name: RunnerNameSchema,
  }),
  database: z
    .object({
      kind: DbKindSchema,
      url: z.string().min(1).optional(),
      urlEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/).optional(),
      path: z.string().min(1).optional(),
    })
    .refine(
      (d) => (d.kind === "sqlite" ? d.path !== undefined : d.url !== undefined || d.urlEnv !== undefined),
      "set database.path for sqlite, otherwise database.url or database.urlEnv",
    ),
  policy: PolicyConfigSchema.default(PolicyConfigSchema.parse({})),
  connection: z
    .object({
      chunkRows: z.number().int().min(1).max(10_000).default(500),
      /** Most bytes of rows in a frame (a single wider row goes alone); lowered to the hub's hello-ack maxFrameBytes. */
      frameBytes: z.number().int().min(1).max(16 * 1024 * 1024).default(512 * 1024),
      credits: z.number().int().min(1).max(1024).default(8),
      maxConcurrent: z.number().int().min(1).max(64).default(4),
      heartbeatMs: z.number().int().min(1000).default(15_000),
      /** How long hello waits for the database schema; past it hello goes without, and again once it is read. */
      schemaTimeoutMs: z.number().int().min(100).default(10_000),
      /** How long stopping waits for cancelled queries to end on the database before it closes the driver. */
      stopGraceMs: z.number().int().min(0).default(5000),
      /** permessage-deflate on the tunnel: saves bandwidth on slow links, costs CPU and memory on both ends. */
      compress: z.boolean().default(false),
      backoff: z
        .object({ initialMs: z.number().int().min(1).default(500), maxMs: z.number().int().min(1).default(30_000) })
        .default({ initialMs: 500, maxMs: 30_000 }),
    })
    .default({ chunkRows: 500, frameBytes: 512 * 1024, credits: 8, maxConcurrent: 4, heartbeatMs: 15_000, schemaTimeoutMs: 10_000, stopGraceMs: 5000, compress: false, backoff: { initialMs: 500, maxMs: 30_000 } }),
  log: z.object({ level: z.enum(["debug", "info", "warn", "error"]).default("info") }).default({ level: "info" }),
});
export type Config = z.infer<typeof ConfigSchema>;
