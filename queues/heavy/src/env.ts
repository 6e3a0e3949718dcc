import type { AiRunner } from "../../../lib/ai/workers-ai.js";
import type { HeavyBindings } from "../../../lib/heavy/bindings.js";
import type { RateLimiterDO } from "../../../durable-objects/rate-limiter/index.js";
import type Orchestrator from "../../../workers/orchestrator/src/index.js";

/** The heavy consumer's bindings, as declared in queues/heavy/wrangler.toml. */
export interface HeavyEnv extends HeavyBindings {
  ORCHESTRATOR: Service<Orchestrator>;
  RATE_LIMITER: DurableObjectNamespace<RateLimiterDO>;
  /** Workers AI, for image tasks. Optional: it needs a Cloudflare account, so offline (`npm start`) it is
   * absent and image tasks are refused (see image-generation.ts). */
  AI?: AiRunner;
  [k: string]: unknown;
}
