/**
 * JSON logs, one object per line, always carrying the component, request id and tenant id so a single
 * request can be followed across the gateway, the orchestrator, Durable Objects and queue consumers.
 */
export type Level = "debug" | "info" | "warn" | "error";
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface LogContext {
  component: string;
  requestId?: string;
  tenantId?: string;
  [k: string]: unknown;
}

export class Logger {
  constructor(
    readonly ctx: LogContext,
    private readonly min: Level = "info",
  ) {}

  child(extra: Partial<LogContext>): Logger {
    return new Logger({ ...this.ctx, ...extra } as LogContext, this.min);
  }

  debug(msg: string, fields?: Record<string, unknown>) { this.write("debug", msg, fields); }
  info(msg: string, fields?: Record<string, unknown>) { this.write("info", msg, fields); }
  warn(msg: string, fields?: Record<string, unknown>) { this.write("warn", msg, fields); }
  error(msg: string, fields?: Record<string, unknown>) { this.write("error", msg, fields); }

  private write(level: Level, msg: string, fields?: Record<string, unknown>) {
    if (ORDER[level] < ORDER[this.min]) return;
    const line = {
      ts: new Date().toISOString(),
      level,
      requestId: null,
      tenantId: null,
      ...this.ctx,
      msg,
      ...normalise(fields),
    };
    console.log(JSON.stringify(line));
  }
}

function normalise(fields?: Record<string, unknown>) {
  if (!fields) return undefined;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) {
    out[k] = v instanceof Error ? { name: v.name, message: v.message, stack: v.stack } : v;
  }
  return out;
}

export const logger = (component: string, level: Level = "info") => new Logger({ component }, level);
