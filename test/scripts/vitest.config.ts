import { defineConfig } from "vitest/config";

// The npm scripts themselves (start, deploy), run as the operator runs them, in Node.
export default defineConfig({
  test: { name: "scripts", environment: "node", include: ["**/*.test.ts"], testTimeout: 120_000 },
});
