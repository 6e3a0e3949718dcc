/**
 * The orchestrator Worker. Its public methods are its RPC surface for the gateway (service binding);
 * it has no public HTTP routes of its own. It also exports every Durable Object class.
 */
import { WorkerEntrypoint } from "cloudflare:workers";
import { z } from "zod";
import { badRequest, notFound } from "../../../lib/errors.js";
import { runCheck } from "../../../lib/health.js";
import { Logger } from "../../../lib/log.js";
import { rateLimiterName, stubFor } from "../../../lib/do-names.js";
import { ChatCallSchema, type ChatCall, type ChatReply, type HealthReport, type Model } from "../../../lib/protocol/index.js";
import type { OrchestratorEnv } from "./env.js";
import { listModels } from "./models.js";
import { auto } from "./pipelines/auto.js";
import { passthrough, type PipelineDeps } from "./pipelines/passthrough.js";
import { orchestratorSettings, type OrchestratorSettings } from "./settings.js";
import { settleCall } from "./usage.js";

export { RateLimiterDO } from "../../../durable-objects/rate-limiter/index.js";

export default class Orchestrator extends WorkerEntrypoint<OrchestratorEnv> {
  private get settings(): OrchestratorSettings {
    return orchestratorSettings(this.env);
  }

  async chat(raw: unknown): Promise<ChatReply> {
    const parsed = ChatCallSchema.safeParse(raw);
    if (!parsed.success) return { kind: "error", error: badRequest(z.prettifyError(parsed.error)).toJSON(), upstreamMs: 0 };
    const call = parsed.data;
    const log = new Logger({ component: "orchestrator", requestId: call.requestId, tenantId: call.tenantId }, this.settings.CIO_LOG_LEVEL);
    const deps: PipelineDeps = { log, settle: this.settleOnce(call.tenantId, call.leaseId, log) };
    try {
      return await this.route(call, deps);
    } catch (err) {
      deps.settle(call.body.model);
      throw err;
    }
  }

  private route(call: ChatCall, deps: PipelineDeps): Promise<ChatReply> | ChatReply {
    const model = call.body.model;
    if (model === "cio/auto") return auto(call, deps);
    const s = this.settings;
    if (s.CIO_UPSTREAM_BASE_URL && s.CIO_UPSTREAM_MODELS.includes(model)) {
      return passthrough(call, upstreamConfig(s, s.CIO_UPSTREAM_BASE_URL), deps);
    }
    deps.settle(model);
    const known = listModels(s).map((m) => m.id).join(", ");
    const err = notFound(`The model '${model}' does not exist. Available models: ${known}.`, "model_not_found");
    return { kind: "error", error: { ...err.toJSON(), error: { ...err.toBody().error, param: "model" } }, upstreamMs: 0 };
  }

  async models(): Promise<Model[]> {
    return listModels(this.settings);
  }

  async health(): Promise<HealthReport> {
    const checks: HealthReport["checks"] = {};
    await runCheck(checks, "d1", () => this.env.DB.prepare("SELECT 1").first());
    await runCheck(checks, "durable_object", () => stubFor(this.env.RATE_LIMITER, rateLimiterName("__health__")).snapshot("__health__"));
    return { ok: Object.values(checks).every((c) => c.ok), checks };
  }

  /** The call's one settlement; later calls (a stream's end after an error, say) do nothing. */
  private settleOnce(tenantId: string, leaseId: string | undefined, log: Logger): PipelineDeps["settle"] {
    let done = false;
    return (model, usage) => {
      if (done) return;
      done = true;
      this.ctx.waitUntil(
        settleCall(this.env, tenantId, leaseId, model, usage).catch((err) => log.error("call could not be settled", { err, model, usage })),
      );
    };
  }
}

function upstreamConfig(s: OrchestratorSettings, baseUrl: string) {
  return {
    baseUrl,
    apiKey: s.CIO_UPSTREAM_API_KEY,
    timeoutMs: s.CIO_UPSTREAM_TIMEOUT_MS,
    retries: s.CIO_UPSTREAM_RETRIES,
    retryBaseMs: s.CIO_UPSTREAM_RETRY_BASE_MS,
  };
}
