import { defineConfig } from "vitest/config";

// End-to-end: the real local stack (`npm start`) driven over HTTP by the official `openai` client,
// with a scripted OpenAI-compatible model on 127.0.0.1 as the only stand-in.
export default defineConfig({
  test: {
    name: "e2e",
    environment: "node",
    include: ["**/*.test.ts"],
    globalSetup: ["./stack-setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 200_000,
  },
});
