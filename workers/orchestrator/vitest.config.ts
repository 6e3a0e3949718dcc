import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { auxWorker, ROOT } from "../../test/support/aux-workers.ts";

// The orchestrator exports the Durable Objects, so it is tested as its own project: runInDurableObject,
// runDurableObjectAlarm and evictDurableObject only reach objects of the Worker under test. The tool
// Workers it binds run beside it, their outside APIs replaced by recorded responses (test/fixtures).
export default defineConfig({
  plugins: [
    cloudflareTest(async ({ inject }) => {
      const tools = { BINANCE_BASE_URL: inject("toolUpstreamUrl"), BRAVE_BASE_URL: inject("toolUpstreamUrl"), BRAVE_API_KEY: "test-brave-key" };
      return {
        remoteBindings: false,
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: {
            TEST_MIGRATIONS: await readD1Migrations(`${ROOT}/d1-migrations`),
            CIO_UPSTREAM_BASE_URL: inject<string>("upstreamUrl"),
            CIO_UPSTREAM_MODELS: "mock-model",
            CIO_UPSTREAM_RETRY_BASE_MS: "5",
            CIO_UPSTREAM_RETRIES: "1",
            CIO_UPSTREAM_TIMEOUT_MS: "5000",
            CIO_COUNCIL_RETRY_DELAY_MS: "500",
            CIO_COUNCIL_STEP_TIMEOUT_MS: "60000",
            CIO_TRADING_OUTCOME_HOURS: "0",
            CIO_LOG_LEVEL: "warn",
          },
          workers: [
            auxWorker("workers/tools/market-data/wrangler.toml", { vars: tools }),
            auxWorker("workers/tools/technical-analysis/wrangler.toml"),
            auxWorker("workers/tools/web-search/wrangler.toml", { vars: tools }),
          ] as never,
        },
      };
    }),
  ],
  test: {
    name: "orchestrator",
    root: import.meta.dirname,
    globalSetup: [`${ROOT}/test/support/mock-upstream-setup.ts`, `${ROOT}/test/support/tools/tool-upstream-setup.ts`],
    setupFiles: [`${ROOT}/test/support/apply-migrations.ts`],
    testTimeout: 30_000,
  },
});
