import { join } from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { unstable_readConfig } from "wrangler";
import { defineConfig } from "vitest/config";
import { auxWorker, ROOT, toolWorkers } from "../test/support/aux-workers.ts";

// The heavy queue's consumer is the Worker under test; the orchestrator (models, RateLimiterDO) runs
// beside it from its bundle, pointed at the scripted mock model. The orchestrator does not retry the
// model itself here, so injected model faults reach the queue's own retries. Workers AI (image tasks)
// cannot run locally: AI is bound to the scripted mock Worker in test/support/ai-mock, as the media tool's
// tests do.
const heavyConfig = unstable_readConfig({ config: join(ROOT, "queues/heavy/wrangler.toml") });
const maxRetries = heavyConfig.queues.consumers?.find((c: { queue: string }) => c.queue === "heavy")?.max_retries;

export default defineConfig({
  plugins: [
    cloudflareTest(async ({ inject }) => ({
      remoteBindings: false,
      wrangler: { configPath: "./heavy/wrangler.toml" },
      miniflare: {
        serviceBindings: { AI: { name: "ai-mock", entrypoint: "AiMock" } },
        bindings: {
          TEST_MIGRATIONS: await readD1Migrations(`${ROOT}/d1-migrations`),
          TEST_MAX_RETRIES: String(maxRetries),
          CIO_LOG_LEVEL: "error",
          CIO_HEAVY_PROGRESS_MS: "0",
          // Small read ranges, so a test file of a few hundred KB is read range by range like a large one.
          CIO_ANALYSIS_READ_BYTES: "65536",
          CIO_HEAVY_RETRY_BASE_S: "1",
          CIO_HEAVY_RETRY_MAX_S: "30",
          CIO_BATCH_PART_SIZE: "10",
          CIO_BATCH_MAX_PARTS_IN_FLIGHT: "2",
          CIO_IMAGE_MODELS: "@cf/stabilityai/stable-diffusion-xl-base-1.0",
        },
        workers: [
          auxWorker("workers/orchestrator/wrangler.toml", {
            vars: {
              CIO_UPSTREAM_BASE_URL: inject<string>("upstreamUrl"),
              CIO_UPSTREAM_MODELS: "mock-model",
              CIO_UPSTREAM_RETRIES: "0",
              CIO_UPSTREAM_TIMEOUT_MS: "5000",
              CIO_USAGE_FLUSH_MS: "50",
              CIO_LOG_LEVEL: "error",
            },
          }),
          // The orchestrator binds the tool Workers; they run beside it (without internet) so it starts.
          ...toolWorkers(),
          auxWorker("test/support/ai-mock/wrangler.toml"),
        ],
      },
    })),
  ],
  test: {
    name: "queues",
    globalSetup: [`${ROOT}/test/support/mock-upstream-setup.ts`],
    setupFiles: [`${ROOT}/test/support/apply-migrations.ts`, `${ROOT}/test/support/settle.ts`],
    testTimeout: 120_000,
  },
});
