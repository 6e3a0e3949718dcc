import type { Model } from "../../../lib/protocol/index.js";
import type { OrchestratorSettings } from "./settings.js";

/** Models this deployment answers: our own pipelines plus the configured passthrough models. */
export const OWN_MODELS = ["cio/auto", "cio/council"] as const;

export function listModels(s: OrchestratorSettings): Model[] {
  const created = 1_767_225_600; // 2026-01-01: a stable value, since OpenAI clients sort and cache by it
  const own = OWN_MODELS.map((id) => ({ id, object: "model" as const, created, owned_by: "cio-edge" }));
  const passthrough = s.CIO_UPSTREAM_BASE_URL
    ? s.CIO_UPSTREAM_MODELS.map((id) => ({ id, object: "model" as const, created, owned_by: "upstream" }))
    : [];
  return [...own, ...passthrough];
}
