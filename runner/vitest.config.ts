import { defineProject } from "vitest/config";

// Node tests against real PostgreSQL, MariaDB and SQLite; the database suites skip (or fail in CI) when a
// server is unreachable. Files run one at a time on these 2-core machines so database timings stay honest.
export default defineProject({
  test: {
    name: "runner",
    environment: "node",
    include: ["src/**/*.test.ts", "bench/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    fileParallelism: false,
  },
});
