/**
 * cio-queue-heavy: the consumer of the `heavy` queue (file analysis, batches, long AI jobs) and of its
 * dead-letter queue. Every job is a row in `tasks`; messages carry only ids.
 */
import { WorkerEntrypoint } from "cloudflare:workers";
import type { HeavyEnv } from "./env.js";
import { consume } from "./consumer.js";
import { consumeDeadLetters } from "./dead-letter.js";
import { imageRefusal, type Refusal } from "./jobs/image-generation.js";
import { heavySettings } from "./settings.js";

export default {
  async queue(batch, env) {
    const s = heavySettings(env);
    if (batch.queue === s.CIO_HEAVY_DLQ) return consumeDeadLetters(batch, env, s);
    return consume(batch, env, s);
  },
} satisfies ExportedHandler<HeavyEnv, unknown>;

/**
 * What this Worker can run, asked by the gateway before it queues a job: only this Worker knows its own
 * bindings and settings, and a job it cannot run is better refused at once than failed later.
 */
export class HeavyInfo extends WorkerEntrypoint<HeavyEnv> {
  imageRefusal(model?: string): Refusal | null {
    return imageRefusal(this.env, heavySettings(this.env), model);
  }
}
