import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { auxWorker, ROOT, toolWorkers } from "../../test/support/aux-workers.ts";

// The orchestrator exports the Durable Objects, so it is tested as its own project: runInDurableObject,
// runDurableObjectAlarm and evictDurableObject only reach objects of the Worker under test. The tool
// Workers it binds run beside it; the scripted mock model also serves HTTPS tools under /tools. Binance
// and Brave are replaced by recorded responses (test/fixtures) for the trading council. The media tool Worker
// runs too, with Workers AI replaced by test/support/ai-mock; it is bound as MEDIA_UNDER_TEST, not TOOL_*, so
// the registry seeds it into no other test: a test registers it for its own tenant. Its bucket is bound
// too (MEDIA_BUCKET), so a test can count the pictures it drew.
export default defineConfig({
  plugins: [
    cloudflareTest(async ({ inject }) => ({
      remoteBindings: false,
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: {
        bindings: {
          TEST_MIGRATIONS: await readD1Migrations(`${ROOT}/d1-migrations`),
          CIO_UPSTREAM_BASE_URL: inject<string>("upstreamUrl"),
          CIO_UPSTREAM_MODELS: "mock-model",
          CIO_UPSTREAM_RETRY_BASE_MS: "5",
          CIO_LOG_LEVEL: "warn",
          // Set explicitly (npm start writes .dev.vars beside wrangler.toml); tests pick other providers per call.
          CIO_PROVIDER: "builtin",
          CIO_TOOL_HMAC_SECRET: "mock-tool-secret",
          CIO_TOOL_RETRY_BASE_MS: "5",
          CIO_REGISTRY_TTL_MS: "0",
          CIO_BREAKER_SYNC_MS: "1000",
          // Batched learning writes stay on (the production path), with a window short enough for tests.
          CIO_LEARNING_FLUSH_MS: "10",
          // Small session limits so the tests can reach them.
          CIO_SESSION_MAX_FRAME_BYTES: "4096",
          CIO_SESSION_MAX_SOCKETS: "3",
          CIO_TENANT_MAX_SOCKETS: "4",
          CIO_SESSION_SEND_MAX_BYTES: "65536",
          CIO_COUNCIL_RETRY_DELAY_MS: "500",
          CIO_TRADING_OUTCOME_HOURS: "0",
        },
        serviceBindings: { MEDIA_UNDER_TEST: "cio-tool-media" },
        r2Buckets: { MEDIA_BUCKET: "cio-media" },
        workers: [
          ...toolWorkers({ binance: inject("toolUpstreamUrl"), brave: inject("toolUpstreamUrl") }),
          auxWorker("workers/tools/media/wrangler.toml", {
            vars: { MEDIA_PUBLIC_BASE_URL: "https://media.cio.test/" },
            serviceBindings: { AI: { name: "ai-mock", entrypoint: "AiMock" } },
          }),
          auxWorker("test/support/ai-mock/wrangler.toml"),
        ],
      },
    })),
  ],
  test: {
    name: "orchestrator",
    root: import.meta.dirname,
    globalSetup: [`${ROOT}/test/support/mock-upstream-setup.ts`, `${ROOT}/test/support/tools/tool-upstream-setup.ts`],
    setupFiles: [`${ROOT}/test/support/apply-migrations.ts`, `${ROOT}/test/support/settle.ts`],
    testTimeout: 20_000,
  },
});
