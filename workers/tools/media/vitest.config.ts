import { cloudflareTest } from "@cloudflare/vitest-plugin";
import type { LegacyWorkerOptions } from "miniflare";
import { defineConfig } from "vitest/config";
import { auxWorker } from "../../../test/support/aux-workers.js";

// Workers AI cannot run locally, so the [ai] binding is renamed out of the way and AI is bound to a mock
// Worker (test/support/ai-mock) with the same run(model, inputs) surface. R2 is miniflare's local bucket. Audio
// URLs point at a local server replaying test/fixtures; only its /audio/ paths are allowed, so its
// /private/ path proves the allow-list holds.
export default defineConfig({
  plugins: [
    cloudflareTest(({ inject }) => ({
      remoteBindings: false,
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: {
        ai: { binding: "AI_REMOTE_UNUSED" },
        serviceBindings: { AI: { name: "ai-mock", entrypoint: "AiMock" } },
        bindings: {
          MEDIA_PUBLIC_BASE_URL: "https://media.cio.test",
          MEDIA_MAX_AUDIO_BYTES: "200000",
          MEDIA_AUDIO_ALLOW: `${inject("upstreamUrl")}/audio/`,
        },
        // auxWorker() returns a plain record (see test/support/aux-workers.ts); it is miniflare's shape.
        workers: [auxWorker("test/support/ai-mock/wrangler.toml") as unknown as LegacyWorkerOptions],
      },
    })),
  ],
  test: {
    name: "tool-media",
    root: import.meta.dirname,
    globalSetup: ["../../../test/support/tools/upstream-setup.ts"],
    // The first call in a file loads the Worker into workerd cold.
    testTimeout: 15_000,
  },
});
