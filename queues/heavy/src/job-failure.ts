/**
 * A failure that retrying cannot fix (bad input, missing file): the task fails at once, no retries. In a file
 * of its own, free of the job's bindings, so the analysis code that throws it also runs outside a Worker
 * (the memory benchmark).
 */
export class JobFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "JobFailure";
  }
}
