import type { HeavyBindings } from "../../../lib/heavy/bindings.js";
import type { RateLimiterDO } from "../../../durable-objects/rate-limiter/index.js";
import type Orchestrator from "../../../workers/orchestrator/src/index.js";

/** The heavy consumer's bindings, as declared in queues/heavy/wrangler.toml. */
export interface HeavyEnv extends HeavyBindings {
  ORCHESTRATOR: Service<Orchestrator>;
  RATE_LIMITER: DurableObjectNamespace<RateLimiterDO>;
  [k: string]: unknown;
}
