export { Policy, type ResolvedQuery } from "./policy.ts";
export { PolicyConfigSchema, type PolicyConfig, type PolicyConfigInput, type NamedQuery } from "./config.ts";
export { checkReadOnly, type Verdict } from "./read-only.ts";
export { dialectOf, type Dialect } from "./dialect.ts";
export { fileAuditLog, noAudit, type AuditLog, type AuditEntry } from "./audit.ts";
export { MASK } from "./masking.ts";
