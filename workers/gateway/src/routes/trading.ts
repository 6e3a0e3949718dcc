/** The trading desk: watch-list, risk limits and the paper book (no real exchange orders). */
import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { recordAudit } from "../../../../lib/db/audit.js";
import { ApiError } from "../../../../lib/errors.js";
import { RiskLimitsSchema, WatchItemSchema, type RpcReply } from "../../../../lib/protocol/index.js";
import type { GatewayApp } from "../env.js";
import { requireScope } from "../middleware/auth.js";
import { byKey } from "./key-audit.js";
import { router } from "../validation.js";
import { errorBody, json, keyRoute } from "./openapi.js";

const anyJson = { description: "OK", ...json(z.record(z.string(), z.unknown())) };
const middleware = requireScope("councils");
const SymbolParam = z.object({ symbol: z.string().regex(/^[A-Za-z0-9]{2,24}$/) });

const routes = {
  list: keyRoute("get", "/v1/trading/watch-list", "The symbols watched for moves", { middleware, responses: { 200: anyJson } }),
  watch: keyRoute("post", "/v1/trading/watch-list", "Watch a symbol: a move beyond threshold_pct within window_minutes opens a trading council", {
    middleware,
    request: { body: { required: true, ...json(WatchItemSchema) } },
    responses: { 200: anyJson },
  }),
  unwatch: keyRoute("delete", "/v1/trading/watch-list/{symbol}", "Stop watching a symbol", {
    middleware,
    request: { params: SymbolParam },
    responses: { 200: anyJson, 404: errorBody("The symbol is not on the watch-list") },
  }),
  limits: keyRoute("get", "/v1/trading/risk-limits", "The tenant's risk limits", { middleware, responses: { 200: anyJson } }),
  setLimits: keyRoute("put", "/v1/trading/risk-limits", "Set the tenant's risk limits (max position, max daily loss, order size)", {
    middleware,
    request: { body: { required: true, ...json(RiskLimitsSchema) } },
    responses: { 200: anyJson },
  }),
  positions: keyRoute("get", "/v1/trading/positions", "Paper positions, realised P&L and recent paper orders", { middleware, responses: { 200: anyJson } }),
};

async function send(c: Context<GatewayApp>, call: Record<string, unknown> & { action: string }) {
  const auth = c.get("auth");
  const reply = (await c.env.ORCHESTRATOR.trading({ requestId: c.get("requestId"), tenantId: auth.tenantId, keyId: auth.keyId, ...call })) as unknown as RpcReply;
  if (reply.kind === "error") throw ApiError.from(reply.error);
  return c.json(reply.body as Record<string, unknown>, reply.status as 200);
}

/**
 * A change to what the trading councils may do, recorded with the key that made it once it is made: the
 * watch-list opens councils and the risk limits bound their paper orders.
 */
async function audited(c: Context<GatewayApp>, res: Response, action: string, target: string, detail: Record<string, unknown>) {
  await recordAudit(c.env.DB, byKey(c, action, target, detail), c.get("log"));
  return res;
}

export const trading = router()
  .openapi(routes.list, (c) => send(c, { action: "watch_list" }) as never)
  .openapi(routes.watch, async (c) => {
    const body = c.req.valid("json");
    return (await audited(c, await send(c, { action: "watch", body }), "trading.watch", body.symbol, body)) as never;
  })
  .openapi(routes.unwatch, async (c) => {
    const { symbol } = c.req.valid("param");
    return (await audited(c, await send(c, { action: "unwatch", symbol }), "trading.unwatch", symbol, {})) as never;
  })
  .openapi(routes.limits, (c) => send(c, { action: "risk_limits" }) as never)
  .openapi(routes.setLimits, async (c) => {
    const body = c.req.valid("json");
    return (await audited(c, await send(c, { action: "set_risk_limits", body }), "trading.risk_limits", c.get("auth").tenantId, body)) as never;
  })
  .openapi(routes.positions, (c) => send(c, { action: "positions" }) as never);
