/**
 * The council RPC the gateway calls: validates the call (a service binding is still a trust boundary)
 * and hands it to the tenant's CouncilDO. Object names derive from the tenant, so a council id from
 * another tenant names a different (empty) object and answers 404.
 */
import { z } from "zod";
import { scopedName, stubFor } from "../../../../lib/do-names.js";
import { badRequest } from "../../../../lib/errors.js";
import { released } from "../../../../lib/rpc.js";
import { CouncilCallSchema, type CouncilView, type RpcReply } from "../../../../lib/protocol/index.js";
import type { CouncilEnv } from "../../../../durable-objects/council/env.js";

export const councilName = (tenantId: string, councilId: string) => scopedName(tenantId, "council", councilId);
export const councilStub = (env: CouncilEnv, tenantId: string, councilId: string) => stubFor(env.COUNCILS, councilName(tenantId, councilId));

export async function councilCall(env: CouncilEnv, raw: unknown): Promise<RpcReply<CouncilView>> {
  const parsed = CouncilCallSchema.safeParse(raw);
  if (!parsed.success) return { kind: "error", error: badRequest(z.prettifyError(parsed.error)).toJSON() };
  const call = parsed.data;
  switch (call.action) {
    case "create": {
      const councilId = call.body.id ?? `council_${crypto.randomUUID().replace(/-/g, "")}`;
      return released(councilStub(env, call.tenantId, councilId).start({ tenantId: call.tenantId, councilId, requestId: call.requestId, body: call.body }) as Promise<RpcReply<CouncilView>>);
    }
    case "get":
      return released(councilStub(env, call.tenantId, call.councilId).view(call.tenantId) as Promise<RpcReply<CouncilView>>);
    case "decide":
      return released(councilStub(env, call.tenantId, call.councilId).decide(call.tenantId, call.body) as Promise<RpcReply<CouncilView>>);
    case "outcome":
      return released(councilStub(env, call.tenantId, call.councilId).outcome(call.tenantId, call.body) as Promise<RpcReply<CouncilView>>);
  }
}
