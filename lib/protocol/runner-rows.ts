/**
 * Binary rows frames: UTF-8 bytes of a RowsHeader as JSON, "\n", then `count` rows as NDJSON (one JSON array
 * per line, each line ending in "\n"). Rows are most of a large result's traffic, and this shape is already
 * what a streaming reader gets: the hub checks the framing and hands the body on as it arrived instead of
 * parsing and re-serialising every row (which cost the hub more CPU than the runner spent reading the
 * database). Runner, hub and tests all encode and decode through this file.
 *
 * What the hub checks without parsing: the header (zod), that the body is exactly `count` lines, and that
 * every line starts with `[` and ends with `]`, so a row can never pass for one of the stream's own
 * `{"columns"…}`, `{"done"…}` or `{"error"…}` lines. The values inside a row are the customer's data; the
 * buffered path (parseRows) parses them fully.
 */
import { MESSAGE_BYTES_MAX, parseFrame, ROWS_HEADER_MAX, RowsHeaderSchema, type RowsFrame, type RowsHeader } from "./runner.ts";

const NL = 0x0a;
const OPEN = 0x5b; // [
const CLOSE = 0x5d; // ]

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export interface RowsChunk {
  header: RowsHeader;
  /** `header.count` NDJSON lines, each ending in "\n". */
  body: Uint8Array;
}

/** A rows frame from rows already serialised one per string (so the runner can size them as it goes). */
export function encodeRows(head: Omit<RowsHeader, "type" | "count">, rowJson: readonly string[]): Uint8Array {
  const header: RowsHeader = { type: "rows", id: head.id, requestId: head.requestId, seq: head.seq, count: rowJson.length };
  return encoder.encode(`${JSON.stringify(header)}\n${rowJson.join("\n")}\n`);
}

/** A rows frame from row values (tests and tools; the runner's hot path uses encodeRows). */
export const encodeRowsFrame = (f: RowsFrame): Uint8Array => encodeRows(f, f.rows.map((r) => JSON.stringify(r)));

export type DecodedRows = { ok: true; chunk: RowsChunk } | { ok: false; error: string; id: string | null };

/** `maxBytes`: the largest frame the reader takes; a larger one is refused before its rows are scanned. */
export function decodeRows(bytes: Uint8Array, maxBytes = MESSAGE_BYTES_MAX): DecodedRows {
  const nl = bytes.subarray(0, ROWS_HEADER_MAX).indexOf(NL);
  const headerText = decoder.decode(bytes.subarray(0, nl < 0 ? ROWS_HEADER_MAX : nl));
  const id = /"id"\s*:\s*"([^"]{1,128})"/.exec(headerText)?.[1] ?? null;
  if (nl < 0) return { ok: false, error: "a binary frame must start with a rows header line", id };
  const parsed = parseFrame(RowsHeaderSchema, headerText);
  if (!parsed.ok) return { ok: false, error: parsed.error, id };
  if (bytes.length > maxBytes) return { ok: false, error: `a rows frame of ${bytes.length} bytes is over the limit of ${maxBytes} bytes (hello-ack maxFrameBytes)`, id };
  const body = bytes.subarray(nl + 1);
  let lines = 0;
  for (let start = 0; start < body.length; lines++) {
    const end = body.indexOf(NL, start);
    if (end < 0) return { ok: false, error: `row ${lines} does not end with a newline`, id };
    if (body[start] !== OPEN || body[end - 1] !== CLOSE || end - start < 2) return { ok: false, error: `row ${lines} is not a JSON array on one line`, id };
    start = end + 1;
  }
  if (lines !== parsed.frame.count) return { ok: false, error: `the header says ${parsed.frame.count} rows, the body has ${lines}`, id };
  return { ok: true, chunk: { header: parsed.frame, body } };
}

/** Byte offset just past the `n`th line of an NDJSON body (the body's length if it has fewer). */
export function afterLines(body: Uint8Array, n: number): number {
  let at = 0;
  for (let i = 0; i < n && at < body.length; i++) {
    const end = body.indexOf(NL, at);
    at = end < 0 ? body.length : end + 1;
  }
  return at;
}

/** The rows of an NDJSON body as values, or an error if any line is not a JSON array. */
export function parseRows(body: Uint8Array, count: number): { ok: true; rows: unknown[][] } | { ok: false; error: string } {
  if (!body.length) return { ok: true, rows: [] };
  let rows: unknown;
  try {
    // Lines are arrays without raw newlines (JSON escapes them), so joining them with commas is one array.
    rows = JSON.parse(`[${decoder.decode(body.subarray(0, body.length - 1)).replaceAll("\n", ",")}]`);
  } catch {
    return { ok: false, error: "a row is not valid JSON" };
  }
  if (!Array.isArray(rows) || rows.length !== count || !rows.every(Array.isArray)) return { ok: false, error: "the rows are not one JSON array per line" };
  return { ok: true, rows: rows as unknown[][] };
}

/** A decoded frame as tests read it: header fields and parsed rows. */
export function readRowsFrame(bytes: Uint8Array): RowsFrame {
  const d = decodeRows(bytes);
  if (!d.ok) throw new Error(`invalid rows frame: ${d.error}`);
  const p = parseRows(d.chunk.body, d.chunk.header.count);
  if (!p.ok) throw new Error(`invalid rows frame: ${p.error}`);
  const { type, id, requestId, seq } = d.chunk.header;
  return { type, id, requestId, seq, rows: p.rows };
}
