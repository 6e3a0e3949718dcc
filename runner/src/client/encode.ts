/**
 * Frame encoding for the runner. Text frames are their JSON; rows go out as binary NDJSON frames
 * (lib/protocol/runner-rows.ts) built from rows serialised one at a time.
 */
import type { RunnerToHubFrame } from "../../../lib/protocol/runner.ts";

export { encodeRows } from "../../../lib/protocol/runner-rows.ts";

export const encodeFrame = (frame: RunnerToHubFrame): string => JSON.stringify(frame);

/** Replaces values at `indexes` (masked columns) with `mask`, keeping nulls null. */
export function maskRow(row: unknown[], indexes: readonly number[], mask: string): unknown[] {
  if (indexes.length === 0) return row;
  const out = row.slice();
  for (const i of indexes) if (out[i] !== null && out[i] !== undefined) out[i] = mask;
  return out;
}
