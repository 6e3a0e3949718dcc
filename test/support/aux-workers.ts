/**
 * Auxiliary Workers for multi-Worker tests: the vitest plugin runs only the Worker under test from its
 * wrangler config; every Worker it binds to is handed over prebuilt (see scripts/lib/bundle.ts).
 */
import { workerOptions, type WorkerOverrides } from "../../scripts/lib/bundle.ts";

export { ROOT, bundle } from "../../scripts/lib/bundle.ts";
export type AuxOptions = WorkerOverrides;

export const auxWorker = (configPath: string, opts: AuxOptions = {}) => workerOptions(configPath, opts);
