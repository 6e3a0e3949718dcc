import { defineConfig } from "vitest/config";

// One project per Worker config (each runs inside workerd with its own bindings), plus Node projects for
// the runner and the end-to-end tests that start the whole local stack.
export default defineConfig({
  test: {
    projects: [
      "workers/*/vitest.config.ts",
      "workers/tools/*/vitest.config.ts",
      "{queues,runner}/vitest.config.ts",
      "test/*/vitest.config.ts",
    ],
  },
});
