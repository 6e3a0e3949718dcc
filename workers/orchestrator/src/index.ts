/**
 * The orchestrator Worker. Its public methods are its RPC surface for the gateway (service binding);
 * it has no public HTTP routes of its own. It also exports every Durable Object class.
 */
import { WorkerEntrypoint } from "cloudflare:workers";
import { limiterStub } from "../../../lib/do-names.js";
import { runCheck } from "../../../lib/health.js";
import { ChatCallSchema, type ChatReply, type CouncilView, type HealthReport, type Model, type RpcReply } from "../../../lib/protocol/index.js";
import { runParsedChat } from "./chat.js";
import { settleUnparsed } from "./usage.js";
import { councilCall } from "./councils/rpc.js";
import { runScheduled } from "./crons.js";
import { tradingCall } from "./councils/trading-rpc.js";
import { feedback, type FeedbackReply } from "./feedback.js";
import type { OrchestratorEnv } from "./env.js";
import { listModels } from "./models.js";
import { Logger } from "../../../lib/log.js";
import { toolSigningSecret } from "../../../lib/tools/signature.js";
import { tenantTools } from "./registry/index.js";
import { checkToolWorkers, servedToolNames } from "./registry/seed.js";
import { chatInSession } from "./session-chat.js";
import { orchestratorSettings } from "./settings.js";

export { RateLimiterDO } from "../../../durable-objects/rate-limiter/index.js";
export { CouncilDO } from "../../../durable-objects/council/index.js";
export { ToolBreakerDO } from "../../../durable-objects/tool-breaker/index.js";
export { RunnerHubDO } from "../../../durable-objects/runner-hub/index.js";
export { SessionDO } from "../../../durable-objects/session/index.js";

export default class Orchestrator extends WorkerEntrypoint<OrchestratorEnv> {
  async chat(raw: unknown): Promise<ChatReply> {
    // Parsed once here: the session route and the chat pipelines both take the parsed call.
    const parsed = ChatCallSchema.safeParse(raw);
    if (!parsed.success) await settleUnparsed(this.env, raw, new Logger({ component: "orchestrator" }));
    return (parsed.success && (await chatInSession(this.env, parsed.data))) || runParsedChat(this.env, this.ctx, parsed);
  }

  async councils(raw: unknown): Promise<RpcReply<CouncilView>> {
    return councilCall(this.env, raw);
  }

  async trading(raw: unknown): Promise<RpcReply> {
    return tradingCall(this.env, raw);
  }

  override async scheduled(controller: ScheduledController): Promise<void> {
    await runScheduled(this.env, controller.cron);
  }

  /** POST /v1/feedback: a user's rating of an answer, input to the learning loop. */
  async feedback(raw: unknown): Promise<FeedbackReply> {
    return feedback(this.env, raw);
  }

  /** The signing secret of the HTTPS tool `name` (for its operator, at registration), or null without CIO_TOOL_HMAC_SECRET. */
  async toolSigningSecret(name: string): Promise<string | null> {
    const master = orchestratorSettings(this.env).CIO_TOOL_HMAC_SECRET;
    return master ? toolSigningSecret(master, String(name)) : null;
  }

  /** The names of the tools this deployment serves itself (bound and local), which no HTTPS tool may take. */
  async servedToolNames(requestId: string): Promise<string[]> {
    return servedToolNames(this.env, new Logger({ component: "orchestrator", requestId: String(requestId) }, orchestratorSettings(this.env).CIO_LOG_LEVEL));
  }

  async models(): Promise<Model[]> {
    return listModels(orchestratorSettings(this.env));
  }

  async health(): Promise<HealthReport> {
    const checks: HealthReport["checks"] = {};
    await runCheck(checks, "d1", () => this.env.DB.prepare("SELECT 1").first());
    await runCheck(checks, "tools", () => tenantTools(this.env, orchestratorSettings(this.env), "__health__", new Logger({ component: "orchestrator" })));
    await runCheck(checks, "tool_workers", () => checkToolWorkers(this.env));
    await runCheck(checks, "durable_object", () => limiterStub(this.env.RATE_LIMITER, "__health__").snapshot("__health__"));
    return { ok: Object.values(checks).every((c) => c.ok), checks };
  }
}
