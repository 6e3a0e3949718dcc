/**
 * Vitest globalSetup shared by the tool Worker projects: starts the recorded upstream for the project's
 * `test/fixtures` folder and provides its URL as `upstreamUrl`, which each vitest.config.ts injects into
 * the Worker's base-URL variable.
 */
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import "./provided-context.js";
import { startRecordedUpstream } from "./recorded-upstream.js";

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const upstream = await startRecordedUpstream(join(project.config.root, "test/fixtures"));
  project.provide("upstreamUrl", upstream.url);
  return upstream.close;
}
