/**
 * Durable Object ids are always derived from the tenant id, so code holding one tenant's context cannot
 * even name another tenant's object. Every stub in the project is made through these functions.
 */
const rateLimiterName = (tenantId: string) => `tenant:${tenantId}`;
export const scopedName = (tenantId: string, kind: string, id: string) => `tenant:${tenantId}:${kind}:${id}`;

export function stubFor<T extends Rpc.DurableObjectBranded | undefined>(
  ns: DurableObjectNamespace<T>,
  name: string,
): DurableObjectStub<T> {
  return ns.get(ns.idFromName(name));
}

/** The tenant's RateLimiterDO: every counter of the tenant and its keys lives in this one object. */
export function limiterStub<T extends Rpc.DurableObjectBranded | undefined>(ns: DurableObjectNamespace<T>, tenantId: string): DurableObjectStub<T> {
  return stubFor(ns, rateLimiterName(tenantId));
}

/** The hub for a tenant's runner pool: runners connecting with one name share one object. */
export const runnerHubName = (tenantId: string, runnerName: string) => scopedName(tenantId, "runner", runnerName);
