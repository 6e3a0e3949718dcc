/**
 * The two ways a hub hands a result over. A buffered result is held until done (bounded by max bytes) and
 * returned whole; a streamed result is NDJSON whose reader drives the flow control: a chunk is
 * acknowledged to the runner only when the reader has taken it, so at most K chunks wait in the object, each
 * at most CIO_RUNNER_FRAME_BYTES (the hub reserves that much of its buffer budget for the stream).
 */
import type { HubError, HubQueryResult } from "../../lib/protocol/runner-hub.js";
import { parseRows } from "../../lib/protocol/runner-rows.js";
import type { Column } from "../../lib/protocol/runner.js";
import type { Finish, QuerySink } from "./pending-query.js";

export class BufferSink implements QuerySink {
  readonly result: Promise<HubQueryResult>;
  private resolve!: (r: HubQueryResult) => void;
  private cols: Column[] = [];
  private readonly data: unknown[][] = [];

  constructor() {
    this.result = new Promise((r) => (this.resolve = r));
  }

  columns(columns: Column[]) {
    this.cols = columns;
  }

  rows(ndjson: Uint8Array, count: number, ack: () => void): string | null {
    const parsed = parseRows(ndjson, count);
    if (!parsed.ok) return parsed.error;
    for (const r of parsed.rows) this.data.push(r);
    ack();
    return null;
  }

  finish(f: Finish) {
    this.resolve({ ok: true, columns: this.cols, rows: this.data, ...f });
  }

  fail(error: HubError) {
    this.resolve({ ok: false, error });
  }
}

/**
 * NDJSON lines: `{"columns":[…]}`, then one JSON array per row, then `{"done":{rowCount,truncated,…}}` or
 * `{"error":{code,message}}`. A reader that stops reading (or cancels) stops the runner too.
 */
export class StreamSink implements QuerySink {
  readonly body: ReadableStream<Uint8Array>;
  private readonly queue: { bytes: Uint8Array; ack?: () => void; last?: boolean }[] = [];
  private wake: (() => void) | null = null;
  private readonly enc = new TextEncoder();

  constructor(onReaderGone: () => void) {
    this.body = new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          while (!this.queue.length) await new Promise<void>((r) => (this.wake = r));
          const item = this.queue.shift()!;
          controller.enqueue(item.bytes);
          item.ack?.();
          if (item.last) controller.close();
        },
        cancel: () => onReaderGone(),
      },
      { highWaterMark: 0 },
    );
  }

  columns(columns: Column[]) {
    this.push(JSON.stringify({ columns }) + "\n");
  }

  /** The runner's NDJSON goes to the reader as it arrived: no parse, no re-serialisation, no copy. */
  rows(ndjson: Uint8Array, _count: number, ack: () => void): null {
    this.queue.push({ bytes: ndjson, ack });
    this.wakeReader();
    return null;
  }

  finish(f: Finish) {
    this.push(JSON.stringify({ done: f }) + "\n", undefined, true);
  }

  fail(error: HubError) {
    this.push(JSON.stringify({ error }) + "\n", undefined, true);
  }

  private push(line: string, ack?: () => void, last?: boolean) {
    this.queue.push({ bytes: this.enc.encode(line), ack, last });
    this.wakeReader();
  }

  private wakeReader() {
    const w = this.wake;
    this.wake = null;
    w?.();
  }
}
