/** Turns driver errors into RunnerErrors with a code the hub can act on and a message without secrets. */
import { messageOf, RunnerError } from "../errors.ts";

const UNREACHABLE = new Set([
  "ECONNREFUSED", "ENOTFOUND", "ETIMEDOUT", "EHOSTUNREACH", "ECONNRESET", "EAI_AGAIN", "ESOCKET",
  "28P01", "28000", "3D000", "57P03", // pg: bad password, no such role, no such database, starting up
  "57P01", "57P02", // pg: connection terminated (pg_terminate_backend, server shutdown), server crashed
  "ER_ACCESS_DENIED_ERROR", "ER_BAD_DB_ERROR", "PROTOCOL_CONNECTION_LOST", "ELOGIN",
]);

export const codeOf = (err: unknown): string | undefined => {
  if (typeof err !== "object" || err === null || !("code" in err)) return undefined;
  return String(err.code);
};

/** A failure to reach or log in to the database (as opposed to a failing statement). */
export function unavailable(err: unknown): RunnerError {
  return new RunnerError("db_unavailable", `database unavailable: ${messageOf(err) || codeOf(err) || "unknown error"}`, {
    cause: err,
  });
}

/** A connection that dropped mid-query (database restart, terminated backend, network reset). */
export function connectionLost(err: unknown): RunnerError {
  const why = messageOf(err) || codeOf(err) || "unknown error";
  return unavailable(new Error(`the connection was lost mid-query (${why})`, { cause: err }));
}

export function isUnreachable(err: unknown): boolean {
  const code = codeOf(err);
  if (code && UNREACHABLE.has(code)) return true;
  return err instanceof AggregateError && err.errors.some(isUnreachable);
}

/** `state` says whether the runner itself cancelled the statement or its watchdog fired. */
export function classify(err: unknown, state: { cancelled: boolean; timedOut: boolean }): RunnerError {
  if (err instanceof RunnerError) return err;
  if (state.timedOut) return new RunnerError("timeout", "the statement timeout was reached; the query was cancelled");
  if (state.cancelled) return new RunnerError("cancelled", "the query was cancelled");
  if (isUnreachable(err)) return unavailable(err);
  const message = messageOf(err);
  if (/statement timeout|max_statement_time|maximum statement execution time/i.test(message)) {
    return new RunnerError("timeout", `the statement timeout was reached: ${message}`);
  }
  return new RunnerError("db_error", message, { cause: err });
}
