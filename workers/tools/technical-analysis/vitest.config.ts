import { readFileSync } from "node:fs";
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import type { LegacyWorkerOptions } from "miniflare";
import { defineConfig, type Plugin } from "vitest/config";
import { auxWorker } from "../../../test/support/aux-workers.js";

/**
 * trading-signals ships source maps that point at sources it does not publish; Vite warns once per file
 * (about 200 lines). Loading its modules without the map comment keeps the test output readable.
 */
const withoutLibraryMaps: Plugin = {
  name: "trading-signals-without-source-maps",
  load(id) {
    if (!/[/\\]trading-signals[/\\]dist[/\\].*\.js$/.test(id)) return null;
    return readFileSync(id, "utf8").replace(/^\/\/# sourceMappingURL=.*$/m, "");
  },
};

// market-data runs beside the Worker under test (it is the MARKET_DATA binding), with Binance replaced by
// a local server replaying recorded responses (test/fixtures/routes.json).
export default defineConfig({
  plugins: [
    withoutLibraryMaps,
    cloudflareTest(({ inject }) => ({
      remoteBindings: false,
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: {
        // auxWorker() returns a plain record (see test/support/aux-workers.ts); it is miniflare's shape.
        workers: [
          auxWorker("workers/tools/market-data/wrangler.toml", {
            vars: { BINANCE_BASE_URL: inject("upstreamUrl") },
          }) as unknown as LegacyWorkerOptions,
        ],
      },
    })),
  ],
  test: {
    name: "tool-technical-analysis",
    root: import.meta.dirname,
    globalSetup: ["../../../test/support/tools/upstream-setup.ts"],
    // The first call in each file loads the Worker and the indicator library into workerd cold.
    testTimeout: 15_000,
  },
});
