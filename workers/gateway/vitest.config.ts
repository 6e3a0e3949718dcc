import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { auxWorker, ROOT, toolWorkers } from "../../test/support/aux-workers.ts";

// The gateway runs as the Worker under test; the orchestrator (with the Durable Objects) runs beside it
// from its own bundle, pointed at the scripted mock model started by the global setup. The heavy consumer's
// Workers AI (image tasks) is the scripted mock Worker in test/support/ai-mock. A second copy of the
// consumer, without Workers AI and consuming nothing, stands for an offline stack (TEST_HEAVY_OFFLINE).
export default defineConfig({
  plugins: [
    cloudflareTest(async ({ inject }) => ({
      remoteBindings: false,
      wrangler: { configPath: `${ROOT}/wrangler.toml` },
      miniflare: {
        serviceBindings: { TEST_HEAVY_OFFLINE: { name: "cio-queue-heavy-offline", entrypoint: "HeavyInfo" } },
        bindings: {
          TEST_MIGRATIONS: await readD1Migrations(`${ROOT}/d1-migrations`),
          CIO_ADMIN_TOKEN: "test-admin-token",
          CIO_FILES_MAX_BYTES: String(12 * 1024 * 1024),
          CIO_FILES_PART_BYTES: String(5 * 1024 * 1024),
          CIO_LOG_LEVEL: "warn",
        },
        workers: [
          auxWorker("workers/orchestrator/wrangler.toml", {
            vars: {
              CIO_UPSTREAM_BASE_URL: inject<string>("upstreamUrl"),
              CIO_UPSTREAM_MODELS: "mock-model,mock-other",
              CIO_UPSTREAM_RETRY_BASE_MS: "5",
              CIO_UPSTREAM_TIMEOUT_MS: "2000",
              CIO_UPSTREAM_ANSWER_TIMEOUT_MS: "6000",
              CIO_USAGE_FLUSH_MS: "50",
              CIO_RUNNER_CREDITS: "2",
              CIO_RUNNER_TIMEOUT_GRACE_MS: "100",
              CIO_LOG_LEVEL: "warn",
              CIO_PROVIDER: "builtin",
              CIO_TOOL_HMAC_SECRET: "mock-tool-secret",
              CIO_REGISTRY_TTL_MS: "0",
              CIO_SESSION_MAX_SOCKETS: "2",
            },
          }),
          // The heavy queue's consumer, so tasks and batches run end to end (real queue delivery).
          auxWorker("queues/heavy/wrangler.toml", {
            vars: { CIO_LOG_LEVEL: "warn", CIO_HEAVY_PROGRESS_MS: "0", CIO_HEAVY_RETRY_BASE_S: "1", CIO_BATCH_PART_SIZE: "4", CIO_BATCH_MAX_PARTS_IN_FLIGHT: "2" },
            serviceBindings: { AI: { name: "ai-mock", entrypoint: "AiMock" } },
          }),
          { ...auxWorker("queues/heavy/wrangler.toml"), name: "cio-queue-heavy-offline", queueConsumers: undefined },
          auxWorker("test/support/ai-mock/wrangler.toml"),
          ...toolWorkers(),
        ],
      },
    })),
  ],
  test: {
    name: "gateway",
    // vitest answers every stylesheet import with "" unless told otherwise; /docs serves this one as text.
    css: { include: [/swagger-ui\.css/] },
    globalSetup: [`${ROOT}/test/support/mock-upstream-setup.ts`],
    setupFiles: [`${ROOT}/test/support/apply-migrations.ts`, `${ROOT}/test/support/settle.ts`],
  },
});
