import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { ROOT, toolWorkers } from "../../test/support/aux-workers.ts";

// The orchestrator exports the Durable Objects, so it is tested as its own project: runInDurableObject,
// runDurableObjectAlarm and evictDurableObject only reach objects of the Worker under test. The tool
// Workers it binds run beside it; the scripted mock model also serves HTTPS tools under /tools.
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
        },
        workers: toolWorkers(),
      },
    })),
  ],
  test: {
    name: "orchestrator",
    globalSetup: [`${ROOT}/test/support/mock-upstream-setup.ts`],
    setupFiles: [`${ROOT}/test/support/apply-migrations.ts`],
    testTimeout: 20_000,
  },
});
