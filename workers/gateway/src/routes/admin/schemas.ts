import { z } from "zod";
import { SCOPES } from "../../middleware/auth.js";
import { PageQuerySchema } from "../../../../../lib/protocol/page.js";
import { RunnerNameSchema } from "../../../../../lib/protocol/runner.js";

const limit = z.number().int().positive().nullable().optional();

export const TenantCreateSchema = z
  .object({
    name: z.string().trim().min(1).max(200),
    rpm_limit: limit,
    concurrency_limit: limit,
    daily_token_budget: limit,
  })
  .strict()
  .meta({ id: "TenantCreate" });

export const TenantPatchSchema = TenantCreateSchema.partial().extend({ status: z.enum(["active", "suspended"]).optional() }).strict();

export const TenantSchema = z
  .object({
    id: z.string(),
    object: z.literal("tenant"),
    name: z.string(),
    status: z.string(),
    rpm_limit: z.number().nullable(),
    concurrency_limit: z.number().nullable(),
    daily_token_budget: z.number().nullable(),
    created_at: z.number(),
  })
  .meta({ id: "Tenant" });

export const KeyCreateSchema = z
  .object({
    name: z.string().trim().min(1).max(200).default("default"),
    scopes: z.array(z.enum(["*", ...SCOPES])).min(1).default(["*"]),
    rpm_limit: limit,
    concurrency_limit: limit,
  })
  .strict()
  .meta({ id: "ApiKeyCreate" });

export const KeySchema = z
  .object({
    id: z.string(),
    object: z.literal("api_key"),
    tenant_id: z.string(),
    name: z.string(),
    prefix: z.string(),
    scopes: z.array(z.string()),
    rpm_limit: z.number().nullable(),
    concurrency_limit: z.number().nullable(),
    created_at: z.number(),
    revoked_at: z.number().nullable(),
    /** Present only in the answer to the creation; it is never shown again. */
    key: z.string().optional(),
  })
  .meta({ id: "ApiKey" });

export const RunnerTokenCreateSchema = z
  .object({ runner_name: RunnerNameSchema })
  .strict()
  .meta({ id: "RunnerTokenCreate" });

export const RunnerTokenSchema = z
  .object({
    id: z.string(),
    object: z.literal("runner_token"),
    tenant_id: z.string(),
    runner_name: z.string(),
    prefix: z.string(),
    created_at: z.number(),
    revoked_at: z.number().nullable(),
    token: z.string().optional(),
  })
  .meta({ id: "RunnerToken" });

/** A page of an admin list (tenants, keys, runner tokens, tools, the audit log): larger pages than a tenant's. */
export const AdminPageQuerySchema = PageQuerySchema.extend({ limit: z.coerce.number().int().min(1).max(1000).default(100) });

export const AuditQuerySchema = AdminPageQuerySchema.extend({
  tenant_id: z.string().min(1).optional(),
  /** An action (`api_key.revoke`) or, ending in `.`, all of a kind (`api_key.`). */
  action: z.string().min(1).max(64).optional(),
  /** The last id of the previous page: entries come newest first. */
  after: z.coerce.number().int().positive().optional(),
});

export const AuditEntrySchema = z
  .object({
    id: z.number().int(),
    object: z.literal("audit_entry"),
    tenant_id: z.string().nullable(),
    actor: z.string(),
    action: z.string(),
    target: z.string().nullable(),
    detail: z.record(z.string(), z.unknown()).nullable(),
    request_id: z.string().nullable(),
    created_at: z.number(),
  })
  .meta({ id: "AuditEntry" });

export const IdParam = z.object({ id: z.string() });
export const ChildParam = z.object({ id: z.string(), childId: z.string() });
