/**
 * A tool's learned quality for a tenant, a factor around 1 that multiplies its relevance: success rate
 * weighs most (a tool that keeps failing sinks towards 0.2), user ratings move it by up to ±50 %, and a
 * tool that is slow relative to its own timeout loses up to half. A tool never called starts at 1.
 */
import type { ToolStatsRow } from "../../../../d1-migrations/schema/tools.js";
import type { RegisteredTool } from "../registry/index.js";

export function quality(stats: ToolStatsRow | undefined, timeoutMs: number): number {
  if (!stats) return 1;
  const success = 0.2 + 0.8 * stats.successEma;
  const rating = 1 + 0.5 * stats.ratingEma;
  const speed = 1 / (1 + stats.latencyEma / Math.max(1, timeoutMs));
  return success * rating * speed;
}

/** Tools best first by learned quality; ties keep the registry's order (by name). */
export function rankByQuality(tools: RegisteredTool[], stats: Map<string, ToolStatsRow>): RegisteredTool[] {
  return tools
    .map((t, i) => ({ t, i, q: quality(stats.get(t.name), t.manifest.timeoutMs) }))
    .sort((a, b) => b.q - a.q || a.i - b.i)
    .map((x) => x.t);
}
