/**
 * Auxiliary Workers for multi-Worker tests: the vitest plugin runs only the Worker under test from its
 * wrangler config; every Worker it binds to is handed over prebuilt (see scripts/lib/bundle.ts).
 */
import { workerOptions, type WorkerOverrides } from "../../scripts/lib/bundle.ts";

export { ROOT, bundle } from "../../scripts/lib/bundle.ts";
export type AuxOptions = WorkerOverrides;

export const auxWorker = (configPath: string, opts: AuxOptions = {}) => workerOptions(configPath, opts);

/** Nothing listens on the discard port: tools whose upstream is the internet fail fast instead of reaching it. */
export const NO_INTERNET = "http://127.0.0.1:9";

/**
 * The tool Workers the orchestrator binds (TOOL_*), as auxiliary Workers. Their upstreams point nowhere
 * unless given, so no test can reach the real Brave or Binance.
 */
export function toolWorkers(upstreams: { binance?: string; brave?: string } = {}) {
  return [
    auxWorker("workers/tools/web-search/wrangler.toml", { vars: { BRAVE_BASE_URL: upstreams.brave ?? NO_INTERNET, BRAVE_API_KEY: "test-key" } }),
    auxWorker("workers/tools/market-data/wrangler.toml", { vars: { BINANCE_BASE_URL: upstreams.binance ?? NO_INTERNET } }),
    auxWorker("workers/tools/technical-analysis/wrangler.toml"),
    auxWorker("workers/tools/http-json/wrangler.toml"),
  ];
}
