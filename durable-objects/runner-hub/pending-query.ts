/**
 * One query in flight on the hub: checks the runner's frames (order, credits), enforces max rows and max
 * bytes and the timeout, and hands accepted rows to a sink (buffered for RPC callers, a stream for large
 * results). It never throws at the caller: every end is a value — rows, or a typed error.
 */
import type { HubError, HubErrorCode } from "../../lib/protocol/runner-hub.js";
import { afterLines, type RowsChunk } from "../../lib/protocol/runner-rows.js";
import type { Column, HubToRunnerFrame, QueryFrame, RunnerErrorCode, RunnerToHubFrame } from "../../lib/protocol/runner.js";

export interface Finish {
  rowCount: number;
  truncated: boolean;
  truncatedBy?: "maxRows" | "maxBytes";
  elapsedMs: number;
}

/**
 * Where accepted rows go. `ack` hands credits back to the runner; the sink decides when it has room. Rows
 * arrive as NDJSON (`count` lines); a sink that needs values parses them and returns an error if it cannot.
 */
export interface QuerySink {
  columns(columns: Column[]): void;
  rows(ndjson: Uint8Array, count: number, ack: () => void): string | null;
  finish(f: Finish): void;
  fail(e: HubError): void;
}

export type Send = (frame: HubToRunnerFrame) => void;

const RUNNER_CODES: Record<RunnerErrorCode, HubErrorCode> = {
  invalid_frame: "internal",
  policy_denied: "policy_denied",
  unknown_query: "unknown_query",
  bad_params: "bad_params",
  timeout: "timeout",
  cancelled: "cancelled",
  busy: "busy",
  db_unavailable: "db_unavailable",
  db_error: "db_error",
  row_too_large: "row_too_large",
  internal: "internal",
};

export class PendingQuery {
  /** The connection running it now; null between a failover and the next dispatch. */
  connectionId: string | null = null;
  readonly tried = new Set<string>();
  private send: Send = () => {};
  private state: "waiting" | "streaming" | "settled" = "waiting";
  private rowCount = 0;
  private bytes = 0;
  private nextSeq = 0;
  private unacked = 0;
  private readonly started = Date.now();
  private readonly timer: ReturnType<typeof setTimeout>;

  constructor(
    readonly frame: QueryFrame,
    private readonly sink: QuerySink,
    /** Time the hub waits past the query's own timeout for the runner's timeout error. */
    graceMs: number,
    private readonly onSettled: (q: PendingQuery) => void,
  ) {
    this.timer = setTimeout(() => this.timeout(), frame.timeoutMs + graceMs);
  }

  get id() {
    return this.frame.id;
  }

  get settled() {
    return this.state === "settled";
  }

  /** True once the runner has answered with data: from then on the query cannot move to another runner. */
  get committed() {
    return this.state !== "waiting";
  }

  dispatch(connectionId: string, send: Send) {
    this.connectionId = connectionId;
    this.tried.add(connectionId);
    this.send = send;
    send(this.frame);
  }

  /** Handles a frame for this query. Returns a busy error instead of settling, so the hub can fail over. */
  onFrame(f: RunnerToHubFrame): HubError | null {
    if (this.settled) return null;
    switch (f.type) {
      case "columns":
        if (this.state !== "waiting") return this.protocolError("columns arrived twice");
        this.state = "streaming";
        this.sink.columns(f.columns);
        return null;
      case "done":
        if (this.state !== "streaming") return this.protocolError("done arrived before columns");
        this.finish(f.truncatedBy);
        return null;
      case "error": {
        const error = { code: RUNNER_CODES[f.code], message: f.message };
        if (error.code === "busy" && !this.committed) return error;
        this.fail(error);
        return null;
      }
      default:
        return null;
    }
  }

  cancel(error: HubError) {
    if (this.settled) return;
    this.send({ type: "cancel", id: this.id, requestId: this.frame.requestId });
    this.fail(error);
  }

  fail(error: HubError) {
    if (this.settle()) this.sink.fail(error);
  }

  /** A chunk of rows (already checked by decodeRows): order, credits, limits, then the sink. */
  onRows({ header, body }: RowsChunk) {
    if (this.settled) return;
    if (this.state !== "streaming") return this.protocolError("rows arrived before columns");
    if (header.seq !== this.nextSeq) return this.protocolError(`chunk ${header.seq} arrived where ${this.nextSeq} was expected`);
    this.nextSeq++;
    if (++this.unacked > this.frame.credits!) return this.protocolError(`the runner sent more than ${this.frame.credits} unacknowledged chunks`);
    const { count, bytes, truncatedBy } = this.within(body, header.count);
    const ack = () => {
      this.unacked--;
      if (!this.settled) this.send({ type: "ack", id: this.id, credits: 1 });
    };
    if (count) {
      const refused = this.sink.rows(bytes === body.length ? body : body.subarray(0, bytes), count, ack);
      if (refused) return this.protocolError(refused);
      this.rowCount += count;
    }
    if (truncatedBy) {
      // The runner may still be reading; we have all we may keep, so stop it and answer.
      this.send({ type: "cancel", id: this.id, requestId: this.frame.requestId });
      this.finish(truncatedBy);
    } else if (!count) ack();
  }

  /** How much of a chunk fits the row and byte limits (line by line only when the chunk would cross). */
  private within(body: Uint8Array, lines: number) {
    let count = lines;
    let bytes = body.length;
    let truncatedBy: Finish["truncatedBy"];
    const roomRows = this.frame.maxRows - this.rowCount;
    if (count > roomRows) {
      count = roomRows;
      bytes = afterLines(body, count);
      truncatedBy = "maxRows";
    }
    const roomBytes = this.frame.maxBytes - this.bytes;
    if (bytes > roomBytes) {
      truncatedBy = "maxBytes";
      let n = 0;
      let at = 0;
      // Every line ends in "\n" (decodeRows checked), so the next line ends at the next newline.
      while (n < count && body.indexOf(0x0a, at) + 1 <= roomBytes) {
        at = body.indexOf(0x0a, at) + 1;
        n++;
      }
      count = n;
      bytes = at;
    }
    this.bytes += bytes;
    return { count, bytes, truncatedBy };
  }

  private finish(truncatedBy: Finish["truncatedBy"]) {
    if (!this.settle()) return;
    this.sink.finish({ rowCount: this.rowCount, truncated: truncatedBy !== undefined, truncatedBy, elapsedMs: Date.now() - this.started });
  }

  private timeout() {
    this.cancel({ code: "timeout", message: `the runner did not answer within ${this.frame.timeoutMs} ms; the query was cancelled` });
  }

  private protocolError(message: string): null {
    this.cancel({ code: "protocol_error", message: `the runner broke the protocol: ${message}` });
    return null;
  }

  private settle(): boolean {
    if (this.settled) return false;
    this.state = "settled";
    clearTimeout(this.timer);
    this.onSettled(this);
    return true;
  }
}
