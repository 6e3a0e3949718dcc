import type { SessionDO } from "../../durable-objects/session/index.js";
import type { HeavyMessage } from "../protocol/heavy.js";

/** The bindings heavy work needs, wherever it is started (gateway, orchestrator) or run (queues/heavy). */
export interface HeavyBindings {
  DB: D1Database;
  HEAVY_QUEUE: Queue<HeavyMessage>;
  FILES: R2Bucket;
  /** SessionDO, when the Worker binds it: task events go to the session that asked. */
  SESSIONS?: DurableObjectNamespace<SessionDO>;
}
