/** The `policy:` section of the runner's config file: what the cloud may ask of this database. */
import { z } from "zod";

const Identifier = z.string().min(1).max(256);

export const NamedQuerySchema = z.object({
  name: z.string().regex(/^[A-Za-z][A-Za-z0-9_.-]{0,127}$/, "named query names are letters, digits, _ . -"),
  description: z.string().optional(),
  /** SQL with the database's own positional placeholders ($1, ?, @p1), filled in the order of `params`. */
  sql: z.string().min(1),
  params: z.array(Identifier).default([]),
});
export type NamedQuery = z.infer<typeof NamedQuerySchema>;

export const PolicyConfigSchema = z.object({
  /** Upper bounds; a query frame may ask for less, never more. */
  maxRows: z.number().int().positive().default(10_000),
  maxBytes: z.number().int().positive().default(16 * 1024 * 1024),
  timeoutMs: z.number().int().positive().default(30_000),
  /** Refuse ad-hoc SQL: only `namedQueries` may run. */
  namedOnly: z.boolean().default(false),
  /** When set, only these schemas / tables ("schema.table", "table", or "schema.*") may be read or shown. */
  allow: z
    .object({ schemas: z.array(Identifier).optional(), tables: z.array(Identifier).optional() })
    .optional(),
  /** Columns ("column" or "table.column") whose values are replaced by "****" and which may not be filtered on. */
  maskColumns: z.array(Identifier).default([]),
  namedQueries: z.array(NamedQuerySchema).default([]),
  /** Extra function names to refuse, on top of the built-in deny list. */
  denyFunctions: z.array(Identifier).default([]),
  /** Append-only JSON-lines audit log of every request and its outcome. */
  auditLog: z.string().optional(),
});
export type PolicyConfig = z.infer<typeof PolicyConfigSchema>;
export type PolicyConfigInput = z.input<typeof PolicyConfigSchema>;
