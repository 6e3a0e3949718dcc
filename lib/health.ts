import type { HealthReport } from "./protocol/orchestrator.js";

/** Runs one dependency check, timing it and recording its failure instead of throwing. */
export async function runCheck(into: HealthReport["checks"], name: string, fn: () => Promise<unknown>) {
  const t = Date.now();
  try {
    await fn();
    into[name] = { ok: true, ms: Date.now() - t };
  } catch (err) {
    into[name] = { ok: false, ms: Date.now() - t, error: String(err) };
  }
}
