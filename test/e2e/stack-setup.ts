import type { TestProject } from "vitest/node";
import { startMockUpstream } from "../mock-upstream/server.ts";
import { startStack } from "../support/stack.ts";

declare module "vitest" {
  interface ProvidedContext {
    stackUrl: string;
    stackKey: string;
    stackAdmin: string;
    mockUrl: string;
  }
}

export default async function setup(project: TestProject) {
  const mock = await startMockUpstream();
  // cio/auto must answer through builtin (the offline default) even though an upstream is configured here.
  const stack = await startStack({ CIO_UPSTREAM_BASE_URL: mock.url, CIO_UPSTREAM_MODELS: "mock-model", CIO_UPSTREAM_RETRY_BASE_MS: "5", CIO_PROVIDER: "builtin" });
  project.provide("stackUrl", stack.url);
  project.provide("stackKey", stack.apiKey);
  project.provide("stackAdmin", stack.adminToken);
  project.provide("mockUrl", mock.url);
  return async () => {
    await stack.stop();
    await mock.close();
  };
}
