/**
 * The hot path of a large result: `rows` frames are most of the traffic, and checking a 1,000-row chunk
 * element by element through zod costs the object more than parsing it. This checks exactly what
 * RowsFrameSchema requires with plain code; anything it does not accept goes through the zod schema, which
 * stays the definition (and gives the error message).
 */
import type { RowsFrame } from "../../lib/protocol/runner.js";

const PREFIX = '{"type":"rows"';

export function fastRows(raw: string): RowsFrame | null {
  if (!raw.startsWith(PREFIX)) return null;
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(raw) as Record<string, unknown>;
  } catch {
    return null;
  }
  const { id, requestId, seq, rows } = v;
  const idOk = (x: unknown) => typeof x === "string" && x.length >= 1 && x.length <= 128;
  if (Object.keys(v).length !== 5 || !idOk(id) || !idOk(requestId)) return null;
  if (typeof seq !== "number" || !Number.isSafeInteger(seq) || seq < 0 || !Array.isArray(rows)) return null;
  for (const r of rows) if (!Array.isArray(r)) return null;
  return v as unknown as RowsFrame;
}
