/** vitest globalSetup: one scripted mock model for the whole project, its URL provided to the config. */
import type { TestProject } from "vitest/node";
import { startMockUpstream } from "../mock-upstream/server.ts";

declare module "vitest" {
  interface ProvidedContext {
    upstreamUrl: string;
  }
}

export default async function setup(project: TestProject) {
  const mock = await startMockUpstream();
  project.provide("upstreamUrl", mock.url);
  return () => mock.close();
}
