/** Councils: start one, read its whole record, record the human's decision and the outcome. */
import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { and, eq } from "drizzle-orm";
import { recordAudit } from "../../../../lib/db/audit.js";
import { schema } from "../../../../lib/db/index.js";
import { listOf, pageOf } from "../../../../lib/db/pages.js";
import { ApiError, badRequest } from "../../../../lib/errors.js";
import {
  CouncilCreateSchema,
  CouncilSummarySchema,
  CouncilViewSchema,
  DecisionBodySchema,
  ListCouncilsQuerySchema,
  OutcomeBodySchema,
  type CouncilSummary,
  type CouncilView,
  type RpcReply,
} from "../../../../lib/protocol/index.js";
import type { GatewayApp } from "../env.js";
import { requireScope } from "../middleware/auth.js";
import { requireSession } from "./session-ref.js";
import { rateLimit } from "../middleware/rate-limit.js";
import { router } from "../validation.js";
import { byKey } from "./key-audit.js";
import { errorBody, json, keyRoute, PageSchema, rateLimited } from "./openapi.js";

const errors = {
  400: errorBody("Invalid request"),
  404: errorBody("No such council"),
  409: errorBody("The council is not in a state that allows this"),
};
const IdParam = z.object({ id: z.string().min(1).max(64) });
const middleware = requireScope("councils");

const list = keyRoute("get", "/v1/councils", "List the tenant's councils, newest first, by status (awaiting_human: those waiting for a decision) or preset", {
  middleware,
  request: { query: ListCouncilsQuerySchema },
  responses: { 200: { description: "A page of councils as D1 records them (a step behind the live record at most)", ...json(PageSchema(CouncilSummarySchema)) }, ...errors },
});
const create = keyRoute("post", "/v1/councils", "Start a council: assistants answer blind, debate, and vote; without consensus a human decides", {
  // Admitted like a chat request: a council runs many model calls, so it must not get past the key's and
  // the tenant's rates, nor an exhausted daily budget.
  middleware: [middleware, rateLimit()] as const,
  request: { body: { required: true, ...json(CouncilCreateSchema) } },
  responses: {
    201: { description: "The council, running", ...json(CouncilViewSchema) },
    200: { description: "The same council, created before", ...json(CouncilViewSchema) },
    ...errors,
    ...rateLimited,
    501: errorBody("no_model_provider: councils need a language model this deployment does not have"),
  },
});
const get = keyRoute("get", "/v1/councils/{id}", "The whole record of a council: rounds, positions, tally, decision, outcome", {
  middleware,
  request: { params: IdParam },
  responses: { 200: { description: "The council", ...json(CouncilViewSchema) }, ...errors },
});
const decide = keyRoute("post", "/v1/councils/{id}/decision", "Record the human's decision on a council that escalated (status awaiting_human)", {
  middleware,
  request: { params: IdParam, body: { required: true, ...json(DecisionBodySchema) } },
  responses: { 200: { description: "The council, decided", ...json(CouncilViewSchema) }, ...errors },
});
const outcome = keyRoute("post", "/v1/councils/{id}/outcome", "Report which option proved right; each assistant's weight moves with its track record", {
  middleware,
  request: { params: IdParam, body: { required: true, ...json(OutcomeBodySchema) } },
  responses: { 200: { description: "The council with its outcome", ...json(CouncilViewSchema) }, ...errors },
});

type Call = Record<string, unknown> & { action: string };

async function ask(c: Context<GatewayApp>, call: Call) {
  const auth = c.get("auth");
  const reply = (await c.env.ORCHESTRATOR.councils({ requestId: c.get("requestId"), tenantId: auth.tenantId, keyId: auth.keyId, ...call })) as unknown as RpcReply<CouncilView>;
  if (reply.kind === "error") throw ApiError.from(reply.error);
  return reply;
}

async function send(c: Context<GatewayApp>, call: Call) {
  const reply = await ask(c, call);
  return c.json(reply.body, reply.status as 200);
}

/**
 * A decision or an outcome, audited with the key that made it only when the council took it: a repeat answers
 * 200 and changes nothing, and was recorded as that key's act, with its own note and its own spelling. The
 * entry names the option as the council spells it.
 */
async function act(c: Context<GatewayApp>, call: Call & { councilId: string }, action: string, detail: (v: CouncilView) => Record<string, unknown>) {
  const reply = await ask(c, call);
  if (reply.changed) await recordAudit(c.env.DB, byKey(c, action, call.councilId, detail(reply.body)), c.get("log"));
  return c.json(reply.body, reply.status as 200);
}

export const councils = router()
  .openapi(list, async (c) => {
    const { limit, after, status, preset } = c.req.valid("query");
    const t = schema.councils;
    const filter = and(status ? eq(t.status, status) : undefined, preset ? eq(t.preset, preset) : undefined);
    const page = await pageOf(c.env.DB, t, { tenantId: c.get("auth").tenantId, limit, after, filter, noun: "council" });
    return c.json(listOf(page.rows.map(toSummary), page.hasMore), 200);
  })
  .openapi(create, async (c) => {
    const body = c.req.valid("json");
    // The council's rounds are published to that session.
    await requireSession(c.env.DB, c.get("auth"), body.session_id);
    return send(c, { action: "create", body }) as never;
  })
  .openapi(get, (c) => send(c, { action: "get", councilId: c.req.valid("param").id }) as never)
  // The human's decision, with the key that made it: the council keeps the option, not who chose it.
  .openapi(decide, (c) =>
    act(c, { action: "decide", councilId: c.req.valid("param").id, body: c.req.valid("json") }, "council.decision", (v) => ({ option: v.decision!.option, note: v.decision!.note ?? null })) as never,
  )
  // The outcome moves every assistant's weight in later councils: who reported it is kept.
  .openapi(outcome, (c) =>
    act(c, { action: "outcome", councilId: c.req.valid("param").id, body: c.req.valid("json") }, "council.outcome", (v) => ({ option: v.outcome!.option })) as never,
  );

function toSummary(row: typeof schema.councils.$inferSelect): CouncilSummary {
  return {
    id: row.id,
    object: "council",
    status: row.status as CouncilSummary["status"],
    question: row.question,
    preset: row.preset,
    symbol: row.symbol,
    options: row.options,
    decision: row.decision ? { option: row.decision, source: row.decisionSource as "consensus" | "human", at: row.decidedAt ?? row.createdAt } : null,
    outcome: row.outcome ? { option: row.outcome, source: row.outcomeSource as "reported" | "measured", at: row.outcomeAt ?? row.createdAt } : null,
    session_id: row.sessionId,
    created_at: row.createdAt,
  };
}
