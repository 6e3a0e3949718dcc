/**
 * One error type for everything the runner reports: a command prints `message` and exits non-zero in one
 * place (cli.ts); the query path turns `code` into an `error` frame. Messages are written for the person
 * running the server and never include credentials.
 */
import type { RunnerErrorCode } from "../../lib/protocol/runner.ts";

export class RunnerError extends Error {
  readonly code: RunnerErrorCode | "config";

  constructor(code: RunnerErrorCode | "config", message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "RunnerError";
    this.code = code;
  }
}

export const configError = (message: string) => new RunnerError("config", message);

/** Strips `user:password@` from anything that looks like a URL so driver errors cannot leak credentials. */
export function redact(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/gi, "$1***@");
}

export function messageOf(err: unknown): string {
  return redact(err instanceof Error ? err.message : String(err));
}
