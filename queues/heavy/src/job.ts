/** What every job gets and returns. A job reports progress through its context and stops when cancelled. */
import type { Logger } from "../../../lib/log.js";
import type { HeavyEnv } from "./env.js";
import type { HeavySettings } from "./settings.js";
import type { ClaimedTask } from "./task-store.js";

export { JobFailure } from "./job-failure.js";

/** The task was cancelled (or finished elsewhere, or taken over once this attempt's claim expired) while this attempt ran: stop quietly. */
export class TaskGone extends Error {
  constructor() {
    super("the task is no longer running");
    this.name = "TaskGone";
  }
}

export interface JobContext {
  env: HeavyEnv;
  settings: HeavySettings;
  /** The task, held by this attempt's claim. */
  task: ClaimedTask;
  log: Logger;
  /** Record progress 0..1 (throttled); throws TaskGone once the task was cancelled or its claim taken over. */
  progress(fraction: number): Promise<void>;
  /**
   * Before a job stores its result: throws TaskGone when the task was cancelled (or deleted) meanwhile, so
   * nothing is written that no one would serve or delete. A read that fails lets the job go on: throwing
   * would run the whole job (and bill its model) again on the retry.
   */
  stillRunning(): Promise<void>;
}

/** `pending`: the job handed its completion to later messages (a batch finishes with its last part). */
export type JobOutcome = { summary: string; resultRef: string | null } | "pending";

export type Job = (ctx: JobContext) => Promise<JobOutcome>;
