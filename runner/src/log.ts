/**
 * JSON logs, one object per line on stdout, always with the component and the request id so one query can
 * be followed from the hub's logs to the runner's and the database's.
 */
export type Level = "debug" | "info" | "warn" | "error";
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogSink = (line: string) => void;

export interface Logger {
  child(fields: Record<string, unknown>): Logger;
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export function createLogger(
  component: string,
  opts: { level?: Level; sink?: LogSink; fields?: Record<string, unknown> } = {},
): Logger {
  const min = ORDER[opts.level ?? "info"];
  const sink = opts.sink ?? ((line: string) => process.stdout.write(line + "\n"));
  const base = { component, requestId: null, ...opts.fields };
  const write = (level: Level) => (msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[level] < min) return;
    sink(JSON.stringify({ ts: new Date().toISOString(), level, ...base, msg, ...normalise(fields) }));
  };
  return {
    child: (fields) => createLogger(component, { ...opts, fields: { ...opts.fields, ...fields } }),
    debug: write("debug"),
    info: write("info"),
    warn: write("warn"),
    error: write("error"),
  };
}

/** A logger that drops everything; tests use it unless they assert on log lines. */
export const silentLogger = (): Logger => createLogger("silent", { sink: () => {} });

function normalise(fields?: Record<string, unknown>) {
  if (!fields) return undefined;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) {
    out[k] = v instanceof Error ? { name: v.name, message: v.message } : v;
  }
  return out;
}
