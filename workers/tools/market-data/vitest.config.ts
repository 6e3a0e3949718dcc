import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// Binance is replaced by a local server replaying recorded responses (test/fixtures/routes.json).
export default defineConfig({
  plugins: [
    cloudflareTest(({ inject }) => ({
      remoteBindings: false,
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: { bindings: { BINANCE_BASE_URL: inject("upstreamUrl") } },
    })),
  ],
  test: {
    name: "tool-market-data",
    // Explicit so fixtures and wrangler.toml resolve the same whether run from the root or with --config.
    root: import.meta.dirname,
    globalSetup: ["../../../test/support/tools/upstream-setup.ts"],
    // The first call in a file loads the Worker into workerd cold.
    testTimeout: 15_000,
  },
});
