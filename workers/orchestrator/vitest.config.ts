import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { ROOT } from "../../test/support/aux-workers.ts";

// The orchestrator exports the Durable Objects, so it is tested as its own project: runInDurableObject,
// runDurableObjectAlarm and evictDurableObject only reach objects of the Worker under test.
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
          // Small session limits so the tests can reach them.
          CIO_SESSION_MAX_FRAME_BYTES: "4096",
          CIO_SESSION_MAX_SOCKETS: "3",
          CIO_TENANT_MAX_SOCKETS: "4",
        },
      },
    })),
  ],
  test: {
    name: "orchestrator",
    globalSetup: [`${ROOT}/test/support/mock-upstream-setup.ts`],
    setupFiles: [`${ROOT}/test/support/apply-migrations.ts`],
  },
});
