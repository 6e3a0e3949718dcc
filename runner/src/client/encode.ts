/**
 * Frame encoding for the hot path. A rows frame is built from rows serialised one at a time, so the runner
 * learns each row's size (for maxBytes) from the same JSON.stringify that produces the frame. The result is
 * exactly what RowsFrameSchema describes.
 */
import type { RunnerToHubFrame } from "../../../lib/protocol/runner.ts";

export const encodeFrame = (frame: RunnerToHubFrame): string => JSON.stringify(frame);

export function encodeRowsFrame(id: string, requestId: string, seq: number, rowJson: readonly string[]): string {
  return `{"type":"rows","id":${JSON.stringify(id)},"requestId":${JSON.stringify(requestId)},"seq":${seq},"rows":[${rowJson.join(",")}]}`;
}

/** Replaces values at `indexes` (masked columns) with `mask`, keeping nulls null. */
export function maskRow(row: unknown[], indexes: readonly number[], mask: string): unknown[] {
  if (indexes.length === 0) return row;
  const out = row.slice();
  for (const i of indexes) if (out[i] !== null && out[i] !== undefined) out[i] = mask;
  return out;
}
