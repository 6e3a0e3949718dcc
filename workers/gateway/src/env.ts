import type { Logger } from "../../../lib/log.js";
import type Orchestrator from "../../orchestrator/src/index.js";
import type { RateLimiterDO } from "../../../durable-objects/rate-limiter/index.js";
import type { RunnerHubDO } from "../../../durable-objects/runner-hub/index.js";
import type { SessionDO } from "../../../durable-objects/session/index.js";
import type { GatewaySettings } from "./settings.js";
import type { HeavyMessage } from "../../../lib/protocol/heavy.js";
import type { HeavyInfo } from "../../../queues/heavy/src/index.js";

/** The gateway's bindings, as declared in the root wrangler.toml. */
export interface GatewayEnv {
  DB: D1Database;
  ORCHESTRATOR: Service<Orchestrator>;
  RATE_LIMITER: DurableObjectNamespace<RateLimiterDO>;
  /** Heavy work: the queue its tasks go to, and the bucket of uploaded files and results. */
  HEAVY_QUEUE: Queue<HeavyMessage>;
  /** The heavy consumer, asked whether it can run a job before it is queued (e.g. images need Workers AI). */
  HEAVY?: Service<HeavyInfo>;
  RUNNER_HUBS: DurableObjectNamespace<RunnerHubDO>;
  FILES: R2Bucket;
  SESSIONS: DurableObjectNamespace<SessionDO>;
  [k: string]: unknown;
}

export interface AuthContext {
  tenantId: string;
  keyId: string;
  scopes: string[];
  limits: { keyRpm: number; keyConcurrency: number; tenantRpm: number; tenantConcurrency: number; dailyTokenBudget: number | null };
}

export interface GatewayVars {
  log: Logger;
  settings: GatewaySettings;
  auth: AuthContext;
  /** Milliseconds spent waiting on the orchestrator's upstreams, subtracted to report our own overhead. */
  upstreamMs: number;
  startedAt: number;
  /** The concurrency slot reserved for this request, and whether the orchestrator took it over. */
  /**
   * The request's concurrency slot. `handedOver` once the orchestrator took the call (it settles the slot when
   * the answer ends); `release` frees it from here, idempotently (a slot already freed is left alone).
   */
  lease?: { id: string; handedOver: boolean; release: () => Promise<unknown> };
}

export type GatewayApp = { Bindings: GatewayEnv; Variables: GatewayVars };
