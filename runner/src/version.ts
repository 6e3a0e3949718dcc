/** Kept in step with package.json by hand: the bundle must not read package.json at run time. */
export const RUNNER_VERSION = "0.1.0";
