import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// Brave is replaced by a local server replaying recorded responses (test/fixtures/routes.json), which
// only answers searches carrying the test key below.
export default defineConfig({
  plugins: [
    cloudflareTest(({ inject }) => ({
      remoteBindings: false,
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: { bindings: { BRAVE_BASE_URL: inject("upstreamUrl"), BRAVE_API_KEY: "test-brave-key" } },
    })),
  ],
  test: {
    name: "tool-web-search",
    root: import.meta.dirname,
    globalSetup: ["../../../test/support/tools/upstream-setup.ts"],
    // The first call in a file loads the Worker into workerd cold.
    testTimeout: 15_000,
  },
});
