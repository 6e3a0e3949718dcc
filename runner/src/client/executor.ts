/**
 * Runs `query` frames: policy → driver → columns / rows / done, under credit flow control, with a watchdog
 * that cancels on the database when the timeout passes (including time spent waiting for the hub's acks).
 * One executor per hub connection; when the connection closes, every running query is cancelled.
 */
import { MESSAGE_BYTES_MAX, ROWS_HEADER_MAX, type AckFrame, type CancelFrame, type QueryFrame, type RunnerErrorCode } from "../../../lib/protocol/runner.ts";
import { classify } from "../drivers/errors.ts";
import type { Driver, QueryStream } from "../drivers/types.ts";
import { RunnerError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { MASK, type AuditEntry, type AuditLog, type Policy, type ResolvedQuery } from "../policy/index.ts";
import { CreditWindow } from "./credits.ts";
import { encodeFrame, encodeRows, maskRow } from "./encode.ts";

export interface ExecutorOptions {
  driver: Driver;
  policy: Policy;
  audit: AuditLog;
  log: Logger;
  /** Rows per database fetch. */
  chunkRows: number;
  /**
   * Most NDJSON bytes in a rows frame. Fetches are gathered up to it, so narrow rows do not cost a frame, an
   * ack and a hop through the hub per few kilobytes; and split at it, so wide rows cannot make a message the
   * hub refuses. A single row wider than this goes alone in its frame, up to what maxFrameBytes allows (a
   * wider one fails its query as row_too_large); lowered to that too.
   */
  frameBytes: number;
  /**
   * Most bytes of a rows frame, header included, that the hub takes (hello-ack's maxFrameBytes): a larger
   * frame fails its query on the hub. Absent, or from a hub that does not say, the WebSocket message limit.
   */
  maxFrameBytes?: () => number;
  maxConcurrent: number;
  /** K when the query frame carries no `credits` (from hello-ack, else the config). */
  credits: () => number;
  /** How long after the statement timeout the watchdog cancels (the database's own timeout goes first). */
  watchdogGraceMs?: number;
}

type AuditFields = Omit<AuditEntry, "id" | "requestId">;
/** Rows in a query's first fetch, before anything is known of their size. */
const FIRST_BATCH_ROWS = 16;

const wireCode = (e: RunnerError): RunnerErrorCode => (e.code === "config" ? "internal" : e.code);

const rowTooLarge = (n: number, size: number, ceiling: number) =>
  new RunnerError(
    "row_too_large",
    `row ${n} is ${size} bytes as JSON, more than the ${ceiling} bytes a rows frame may carry; select less of its widest values, or raise the hub's CIO_RUNNER_FRAME_BYTES`,
  );

interface Running {
  credits: CreditWindow;
  controller: AbortController;
}

export class QueryExecutor {
  private readonly opts: ExecutorOptions;
  private readonly send: (data: string | Uint8Array) => void;
  private readonly running = new Map<string, Running>();

  /** `send` gets JSON text frames and binary rows frames. */
  constructor(opts: ExecutorOptions, send: (data: string | Uint8Array) => void) {
    this.opts = opts;
    this.send = send;
  }

  get active(): number {
    return this.running.size;
  }

  /** The credit window of a running query (tests read its peak). */
  window(id: string): CreditWindow | undefined {
    return this.running.get(id)?.credits;
  }

  ack(frame: AckFrame) {
    this.running.get(frame.id)?.credits.release(frame.credits);
  }

  cancel(frame: CancelFrame) {
    this.abort(frame.id, new RunnerError("cancelled", "the query was cancelled by the hub"));
  }

  abortAll(reason: string) {
    for (const id of this.running.keys()) this.abort(id, new RunnerError("cancelled", reason));
  }

  async run(frame: QueryFrame): Promise<void> {
    const log = this.opts.log.child({ requestId: frame.requestId, queryId: frame.id });
    const audit = (entry: AuditFields) =>
      this.opts.audit.write({ id: frame.id, requestId: frame.requestId, ...entry });
    try {
      audit({ event: "request", sql: frame.sql, named: frame.named ?? null, params: frame.params ?? null });
    } catch (err) {
      // No audit line, no query: the customer must be able to see everything that ran.
      log.error("audit log not writable", { err });
      return this.error(frame, "internal", "the runner's audit log is not writable; the query was not run");
    }
    const refusal = this.admit(frame);
    if (refusal) {
      audit({ event: "refused", code: refusal.code, reason: refusal.message });
      log.warn("query refused", { code: refusal.code, reason: refusal.message });
      return this.error(frame, wireCode(refusal), refusal.message);
    }
    const q = this.resolve(frame);
    if (q instanceof RunnerError) {
      audit({ event: "refused", code: q.code, reason: q.message });
      log.warn("query refused", { code: q.code, reason: q.message });
      return this.error(frame, wireCode(q), q.message);
    }
    await this.execute(frame, q, log, audit);
  }

  private async execute(frame: QueryFrame, q: ResolvedQuery, log: Logger, audit: (e: AuditFields) => void) {
    const started = performance.now();
    const running: Running = {
      credits: new CreditWindow(frame.credits ?? this.opts.credits()),
      controller: new AbortController(),
    };
    this.running.set(frame.id, running);
    const timeout = new RunnerError("timeout", `the query did not finish within ${q.timeoutMs} ms and was cancelled`);
    const timer = setTimeout(() => this.abort(frame.id, timeout), q.timeoutMs + (this.opts.watchdogGraceMs ?? 250));
    let stream: QueryStream | null = null;
    log.info("query started", { named: q.named, maxRows: q.maxRows, timeoutMs: q.timeoutMs });
    try {
      const signal = running.controller.signal;
      // A first batch small enough whatever the rows weigh; later ones are sized by what they turned out to weigh.
      const batchRows = Math.min(this.opts.chunkRows, FIRST_BATCH_ROWS);
      stream = await this.opts.driver.open(q.sql, q.params, { timeoutMs: q.timeoutMs, batchRows, signal });
      const { rowCount, truncatedBy } = await this.pump(frame, q, stream, running);
      const elapsedMs = Math.round(performance.now() - started);
      const truncated = truncatedBy !== undefined;
      this.send(encodeFrame({ type: "done", id: frame.id, requestId: frame.requestId, rowCount, truncated, truncatedBy, elapsedMs }));
      audit({ event: "done", rowCount, truncated, elapsedMs });
      log.info("query done", { rowCount, truncated, truncatedBy, elapsedMs, peakUnacked: running.credits.peak });
    } catch (err) {
      const signal = running.controller.signal;
      const e = signal.aborted && signal.reason instanceof RunnerError ? signal.reason : classify(err, { cancelled: false, timedOut: false });
      const code = wireCode(e);
      audit({ event: code === "cancelled" ? "cancelled" : "error", code, reason: e.message });
      log.warn("query failed", { code, message: e.message });
      this.error(frame, code, e.message);
    } finally {
      clearTimeout(timer);
      this.running.delete(frame.id);
      await stream?.close().catch((err: unknown) => log.warn("closing the query failed", { err }));
    }
  }

  private async pump(frame: QueryFrame, q: ResolvedQuery, stream: QueryStream, running: Running) {
    const { id, requestId } = frame;
    const signal = running.controller.signal;
    this.send(encodeFrame({ type: "columns", id, requestId, columns: stream.columns }));
    const masked = this.opts.policy.maskIndexes(stream.columns);
    let rowCount = 0;
    let bytes = 0;
    let seq = 0;
    let truncatedBy: "maxRows" | "maxBytes" | undefined;
    let json: string[] = [];
    let gathered = 0; // UTF-8 bytes of `json` as NDJSON (a newline each): the frame's body, as the hub counts it
    const flush = async () => {
      if (!json.length) return;
      // maxBytes counts NDJSON body bytes (each row's UTF-8 JSON and its newline), as the hub does. The
      // encoded frame gives the chunk's size at once; rows are measured one by one only when it would cross.
      let frame = encodeRows({ id, requestId, seq }, json);
      let size = frame.length - frame.indexOf(10) - 1;
      if (bytes + size > q.maxBytes) {
        truncatedBy = "maxBytes";
        size = 0;
        let n = 0;
        for (const s of json) {
          const rowBytes = Buffer.byteLength(s) + 1;
          if (bytes + size + rowBytes > q.maxBytes) break;
          size += rowBytes;
          n++;
        }
        json = json.slice(0, n);
        if (json.length) frame = encodeRows({ id, requestId, seq }, json);
      }
      const rows = json.length;
      json = [];
      gathered = 0;
      if (!rows) return;
      bytes += size;
      rowCount += rows;
      await running.credits.acquire();
      signal.throwIfAborted();
      this.send(frame);
      seq++;
    };
    const { chunkRows } = this.opts;
    const ceiling = this.bodyCeiling();
    const frameBytes = Math.min(this.opts.frameBytes, ceiling);
    let widest = 1; // the widest row so far
    let recent = 1; // the widest row of the last fetch
    let ramp = Math.min(chunkRows, FIRST_BATCH_ROWS * 2); // doubles per fetch up to chunkRows: rows may widen later
    // Rows to fetch next: at most the ramp, at most what the bytes still allowed hold at the widest row so far,
    // at most what is left of the frame at the last fetch's widest row (not the widest ever: one large row
    // would leave every later fetch at one row), at least one. 500 rows of a few MB each were fetched whole
    // before a byte was counted, and sent as one frame.
    const nextRows = () => {
      const allowed = Math.floor((q.maxBytes - bytes - gathered) / widest);
      const rows = Math.max(1, Math.min(ramp, allowed, Math.floor((frameBytes - gathered) / recent)));
      ramp = Math.min(chunkRows, ramp * 2);
      return rows;
    };
    for (let batch = await stream.next(); batch; batch = await stream.next(nextRows())) {
      signal.throwIfAborted();
      recent = 1;
      for (const row of batch) {
        if (rowCount + json.length >= q.maxRows) {
          truncatedBy = "maxRows";
          break;
        }
        const s = JSON.stringify(maskRow(row, masked, MASK));
        const size = Buffer.byteLength(s) + 1;
        // No frame can carry it: sent anyway it fails the query on the hub, or, past the WebSocket message
        // limit, closes the connection and every query on it. A row past maxBytes ends the result below instead.
        if (size > ceiling && bytes + gathered + size <= q.maxBytes) throw rowTooLarge(rowCount + json.length + 1, size, ceiling);
        // Rows wider than the estimate the fetch was sized by: the frame goes before it would cross frameBytes.
        if (json.length && gathered + size > frameBytes) await flush();
        if (truncatedBy) break;
        json.push(s);
        gathered += size;
        recent = Math.max(recent, size);
      }
      widest = Math.max(widest, recent);
      // Full once the next fetch would not fit: frames are filled by whole fetches, not topped up a row at a time.
      if (truncatedBy || gathered + ramp * recent > frameBytes || bytes + gathered > q.maxBytes) await flush();
      if (truncatedBy) break;
    }
    if (!truncatedBy) await flush();
    return { rowCount, truncatedBy };
  }

  /** Most NDJSON bytes one rows frame may carry: the hub's frame limit less room for the header line. */
  private bodyCeiling(): number {
    return (this.opts.maxFrameBytes?.() ?? MESSAGE_BYTES_MAX) - ROWS_HEADER_MAX;
  }

  private admit(frame: QueryFrame): RunnerError | null {
    if (this.running.has(frame.id)) return new RunnerError("invalid_frame", `query ${frame.id} is already running`);
    if (this.running.size >= this.opts.maxConcurrent) {
      return new RunnerError("busy", `the runner is already running ${this.opts.maxConcurrent} queries`);
    }
    return null;
  }

  private resolve(frame: QueryFrame): ResolvedQuery | RunnerError {
    try {
      return this.opts.policy.resolve(frame);
    } catch (err) {
      return err instanceof RunnerError ? err : new RunnerError("internal", String(err));
    }
  }

  private abort(id: string, reason: RunnerError) {
    const r = this.running.get(id);
    if (!r || r.controller.signal.aborted) return;
    r.controller.abort(reason);
    r.credits.abort(reason);
  }

  private error(frame: QueryFrame, code: RunnerErrorCode, message: string) {
    this.send(encodeFrame({ type: "error", id: frame.id, requestId: frame.requestId, code, message }));
  }
}
