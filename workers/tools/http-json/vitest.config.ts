import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// The "internet" here is a local server (test/fixtures/routes.json); only its /api/ paths are allowed, so
// its /private/ path proves the allow-list holds. The small size limit keeps the oversize test fast.
export default defineConfig({
  plugins: [
    cloudflareTest(({ inject }) => ({
      remoteBindings: false,
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: {
        bindings: { HTTP_JSON_ALLOW: `https://example.com/only/, ${inject("upstreamUrl")}/api/`, HTTP_JSON_MAX_BYTES: "100000" },
      },
    })),
  ],
  test: {
    name: "tool-http-json",
    root: import.meta.dirname,
    globalSetup: ["../../../test/support/tools/upstream-setup.ts"],
    // The first call in a file loads the Worker into workerd cold.
    testTimeout: 15_000,
  },
});
