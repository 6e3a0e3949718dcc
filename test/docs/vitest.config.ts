import { defineConfig } from "vitest/config";

// Checks of the documentation against the code it describes (Node: it reads files and imports schemas).
export default defineConfig({
  test: { name: "docs", environment: "node", include: ["**/*.test.ts"] },
});
