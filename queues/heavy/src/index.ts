/**
 * cio-queue-heavy: the consumer of the `heavy` queue (file analysis, batches, long AI jobs) and of its
 * dead-letter queue. Every job is a row in `tasks`; messages carry only ids.
 */
import type { HeavyEnv } from "./env.js";
import { consume } from "./consumer.js";
import { consumeDeadLetters } from "./dead-letter.js";
import { heavySettings } from "./settings.js";

export default {
  async queue(batch, env) {
    const s = heavySettings(env);
    if (batch.queue === s.CIO_HEAVY_DLQ) return consumeDeadLetters(batch, env, s);
    return consume(batch, env, s);
  },
} satisfies ExportedHandler<HeavyEnv, unknown>;
