/**
 * The weighted vote. Consensus needs the leading option's weight to reach `threshold` of the total
 * weight of all seated assistants, so an abstention (an assistant that could not answer) makes
 * consensus harder rather than easier.
 */
import type { Position, RoundResult } from "../../lib/protocol/council.js";

export function tally(round: number, positions: Position[], totalWeight: number, threshold: number): RoundResult {
  // A Map, not an object: options are the caller's or a model's words, and in an object "toString" or
  // "constructor" started from Object.prototype's function (a string count, a NaN share) and "__proto__" vanished.
  const votes = new Map<string, number>();
  for (const p of positions) if (!p.error) votes.set(p.option, (votes.get(p.option) ?? 0) + p.weight);
  const ranked = [...votes].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const [first, second] = ranked;
  // A tie at the top is no consensus, whatever the threshold.
  const leader = first && (!second || second[1] < first[1]) ? first[0] : null;
  // Stored as it is compared, not rounded: a share rounded to four decimals read 0.6667 beside a threshold of
  // 0.6667 on a round that (exactly 2/3) had not reached it.
  const share = first && totalWeight > 0 ? first[1] / totalWeight : 0;
  const consensus = leader !== null && share >= threshold - 1e-9;
  // fromEntries defines own properties, so every option, "__proto__" too, is a key of the stored tally.
  return { round, tally: Object.fromEntries(votes), leader, share, consensus, positions };
}

/** A count fit to act on and to store: D1 refuses a NaN share (NOT NULL), and a stored one was replayed for ever. */
export const isSoundCount = (r: RoundResult) => Number.isFinite(r.share) && Object.values(r.tally).every(Number.isFinite);
