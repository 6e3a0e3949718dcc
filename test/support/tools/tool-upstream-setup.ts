/**
 * vitest globalSetup for projects that run the tool Workers as auxiliaries (the orchestrator's): their
 * outside APIs (Binance, Brave) are replaced by the recorded upstream for the project's test/fixtures,
 * provided as `toolUpstreamUrl` so it does not clash with the mock model's `upstreamUrl`.
 */
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { startRecordedUpstream } from "./recorded-upstream.js";

declare module "vitest" {
  interface ProvidedContext {
    toolUpstreamUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const upstream = await startRecordedUpstream(join(project.config.root, "test/fixtures"));
  project.provide("toolUpstreamUrl", upstream.url);
  return upstream.close;
}
